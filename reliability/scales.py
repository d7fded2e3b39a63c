"""The scale on which a metric's errors are additive.

``log`` maps a count y to log(y + 1), so a bias is a multiplicative factor; ``linear`` keeps
signed quantities such as poll margins as they are.
"""

from __future__ import annotations

import enum

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class Scale(enum.StrEnum):
    LOG = "log"
    LINEAR = "linear"

    @property
    def is_count(self) -> bool:
        """Counts are whole numbers >= 0; linear quantities may be negative and fractional."""
        return self is Scale.LOG

    def forward(self, y: FloatArray) -> FloatArray:
        """Natural units to the model scale. Infinite bounds stay infinite."""
        if self is Scale.LOG:
            with np.errstate(invalid="ignore"):
                return np.log1p(np.maximum(y, 0.0))
        return np.asarray(y, dtype=np.float64)

    def inverse(self, x: FloatArray) -> FloatArray:
        """Model scale back to natural units."""
        if self is Scale.LOG:
            return np.expm1(x)
        return np.asarray(x, dtype=np.float64)

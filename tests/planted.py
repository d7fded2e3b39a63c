"""Canonical frames for tests that draw log-scale counts from planted parameters."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl


def planted_frames(
    event: npt.NDArray[np.intp],
    outlet: npt.NDArray[np.intp],
    x: npt.NDArray[np.float64],
    theta: npt.NDArray[np.float64],
    n_outlets: int,
) -> tuple[list[str], pl.DataFrame, pl.DataFrame]:
    """Outlet names ``out0..``, reports of ``expm1(x)`` and the consensus ``expm1(theta)``.

    Report ``i`` is outlet ``outlet[i]``'s rounded count for event ``event[i]``.
    """
    names = [f"out{k}" for k in range(n_outlets)]
    reports = pl.DataFrame(
        {
            "event_id": [f"e{k}" for k in event],
            "outlet": np.array(names)[outlet],
            "value": np.round(np.expm1(x)),
        }
    )
    consensus = pl.DataFrame(
        {"event_id": [f"e{k}" for k in range(theta.size)], "value": np.round(np.expm1(theta))}
    )
    return names, reports, consensus

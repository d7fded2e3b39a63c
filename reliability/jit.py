"""Compiled kernels: the one place that wraps ``numba.njit``.

The posterior grid of one event and the EM sums of one map are loops over a few hundred cells
or a few million reports; in numpy they cost one temporary array per step and tens of
microseconds of call overhead per step. Kernels are compiled on first use and cached next to
the source (``cache=True``), so only the first process after an install pays for compiling.
Setting ``NUMBA_DISABLE_JIT=1`` runs every kernel as plain Python, for debugging.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., object])


def kernel(fn: F) -> F:
    """Compile ``fn`` in nopython mode, releasing the GIL and caching the machine code."""
    return cast(F, numba.njit(cache=True, nogil=True, fastmath=False)(fn))

"""Compiled kernels: the one place that wraps ``numba.njit``.

The posterior grid of one event and the EM sums of one map are loops over a few hundred cells
or a few million reports; in numpy they cost one temporary array per step and tens of
microseconds of call overhead per step. Kernels are compiled on first use and cached next to
the source (``cache=True``), so only the first process after an install pays for compiling.
Setting ``NUMBA_DISABLE_JIT=1`` runs every kernel as plain Python, for debugging.
Kernels release the GIL, so :func:`in_runs` can spread a long pass over the cores.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, cast

import numba
import numpy as np

F = TypeVar("F", bound=Callable[..., object])
T = TypeVar("T")


def kernel(fn: F) -> F:
    """Compile ``fn`` in nopython mode, releasing the GIL and caching the machine code."""
    return cast(F, numba.njit(cache=True, nogil=True, fastmath=False)(fn))


def in_runs(n: int, per_thread: int, run: Callable[[int, int], T]) -> list[T]:
    """``run(first, last)`` over contiguous runs that cover ``range(n)``, in order: one run per
    core, each in its own thread, when there are at least ``per_thread`` items per run, else one
    run here. ``run`` must call kernels that write only their own run's outputs.

    The pool lives for one call: a module-level pool's threads would not survive a fork.
    """
    n_parts = min(os.cpu_count() or 1, max(1, n // per_thread))
    if n_parts == 1:
        return [run(0, n)]
    cuts = [int(c) for c in np.linspace(0, n, n_parts + 1)]
    with ThreadPoolExecutor(n_parts) as pool:
        # Consumed whole: a lazy map left unfinished cancels the runs not yet started.
        return list(pool.map(run, cuts[:-1], cuts[1:]))

"""Real datasets shipped with the project, converted to the canonical files.

``DATASETS`` maps a dataset name to its ``dataset.toml``; paths resolve against the repository
(``seeds/`` and ``benchmarks/data/``), so the command line and the tests find them from any
working directory.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

DATASETS: dict[str, Path] = {
    "acw": REPO_ROOT / "seeds" / "acw" / "dataset.toml",
    "polls": REPO_ROOT / "benchmarks" / "data" / "polls" / "dataset.toml",
    "syria-2019-04": REPO_ROOT / "seeds" / "syria-2019-04" / "dataset.toml",
}


def dataset_path(name: str) -> Path:
    """The ``dataset.toml`` of a shipped dataset.

    >>> dataset_path("acw").name
    'dataset.toml'
    """
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise KeyError(f"unknown dataset {name!r}; shipped datasets: {known}") from None

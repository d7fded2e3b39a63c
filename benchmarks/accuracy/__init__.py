"""Accuracy benchmarks of the outlet model against known truth, an oracle and baselines.

Each module is a script (``python -m benchmarks.accuracy.<name>``) that prints its figures;
``benchmarks/RESULTS.md`` records them with the command that produced them.

* :mod:`benchmarks.accuracy.synthetic`: planted truth from :mod:`reliability.synth`;
* :mod:`benchmarks.accuracy.oracle`: fusion with the true parameters, the accuracy ceiling;
* :mod:`benchmarks.accuracy.acw`: American Civil War battles against the NPS consensus;
* :mod:`benchmarks.accuracy.polls`: FiveThirtyEight polls against election results.
"""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def provenance() -> str:
    """The commit the benchmark ran on, and any uncommitted change to ``reliability/``.

    The model is under active development, so every recorded figure names its code.
    """

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.rstrip("\n") if done.returncode == 0 else "unknown"

    dirty = git("status", "--porcelain", "--", "reliability").splitlines()
    changed = ", ".join(line[3:] for line in dirty) or "none"
    commit = git("rev-parse", "--short", "HEAD")
    return f"code: commit {commit}; uncommitted in reliability/: {changed}"

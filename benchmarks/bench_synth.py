"""Time ``reliability.synth``: generating and writing 1M and 10M reports.

Each size n uses n / 500 outlets and n / 5 events (10M: 20k outlets, 2M events).

    .venv/bin/python benchmarks/bench_synth.py --sizes 1M,10M --preset core
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from reliability.synth import PRESETS, generate, preset, write

SUFFIXES = {"k": 1_000, "m": 1_000_000}


def parse_size(text: str) -> int:
    """``"10M"`` -> 10_000_000; plain integers are taken as they are."""
    text = text.strip().lower()
    factor = SUFFIXES.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * factor)


def run(n_reports: int, preset_name: str, seed: int) -> tuple[float, float, int]:
    """Seconds to generate and to write ``n_reports`` reports, and the bytes written."""
    config = preset(
        preset_name,
        n_outlets=n_reports // 500,
        n_events=n_reports // 5,
        n_reports=n_reports,
        seed=seed,
    )
    start = time.perf_counter()
    data = generate(config)
    generated = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        paths = write(data, Path(out))
        written = time.perf_counter()
        size = sum(p.stat().st_size for p in paths)
    return generated - start, written - generated, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1M,10M", help="comma-separated report counts")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="core")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"preset {args.preset}")
    print(f"{'reports':>12} {'generate s':>11} {'write s':>9} {'total s':>9} {'MB':>8}")
    for size in (parse_size(s) for s in args.sizes.split(",")):
        generate_s, write_s, written = run(size, args.preset, args.seed)
        total = generate_s + write_s
        print(
            f"{size:>12,} {generate_s:>11.1f} {write_s:>9.1f} {total:>9.1f} {written / 1e6:>8.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()

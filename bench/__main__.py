"""``make bench``: run the benchmarks, print their figures and keep them in bench/results/.

Every figure is a ratio against a baseline measured in the same run, or a rate with the volume it
was measured at; nothing here is a pass/fail timing test.

    python -m bench                      # everything
    python -m bench pipeline indicators  # some
    python -m bench pipeline --volumes 100000 1000000
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import time
from datetime import datetime
from pathlib import Path

BENCHMARKS = ("pipeline", "quality_gate", "indicators")
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"some of {', '.join(BENCHMARKS)} (default: all)"
    )
    parser.add_argument(
        "--volumes",
        nargs="+",
        type=int,
        default=[100_000, 1_000_000],
        help="dossier volumes for the pipeline benchmark",
    )
    args = parser.parse_args()
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    results = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()}}
    for name in args.names or BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        started = time.perf_counter()
        figures = module.main(args.volumes) if name == "pipeline" else module.main()
        results[name] = figures | {"bench_seconds": round(time.perf_counter() - started, 1)}
        print(f"\n== {name}\n{json.dumps(results[name], indent=2, default=str)}", flush=True)
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nfigures kept in {path}")


if __name__ == "__main__":
    main()

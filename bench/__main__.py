"""``make bench``: run the benchmarks, print their figures and keep them in bench/results/.

Every figure is a ratio against a baseline measured in the same run, or a rate with the volume it
was measured at; nothing here is a pass/fail timing test.

    python -m bench                      # everything
    python -m bench pipeline indicators  # some
    python -m bench pipeline --volumes 100000 1000000
    python -m bench national --volume 5000000 --deadline 20:45   # several provinces (issue 26)
    python -m bench national --volume 200000                     # its smoke run (1/50 of the rates)
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

BENCHMARKS = ("pipeline", "quality_gate", "indicators", "national")
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
    national = parser.add_argument_group("national (several provinces, issue 26)")
    national.add_argument(
        "--volume", type=int, default=None, help="dossiers to load (default: bench.national.DEFAULT_VOLUME)"
    )
    national.add_argument(
        "--baseline-volume",
        type=int,
        default=None,
        help="the single-province baseline's dossiers (default: min(1M, volume); 0: none)",
    )
    national.add_argument("--deadline", metavar="HH:MM", help="start no phase projected to end after it")
    args = parser.parse_args()
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    results = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()}}
    for name in args.names or BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        started = time.perf_counter()
        if name == "pipeline":
            figures = module.main(args.volumes)
        elif name == "national":
            figures = module.main(args.volume or module.DEFAULT_VOLUME, args.baseline_volume, args.deadline)
        else:
            figures = module.main()
        results[name] = figures | {"bench_seconds": round(time.perf_counter() - started, 1)}
        print(f"\n== {name}\n{json.dumps(results[name], indent=2, default=str)}", flush=True)
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nfigures kept in {path}")


if __name__ == "__main__":
    main()

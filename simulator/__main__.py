"""Run the simulated provincial export API.

    TTHC_SIM_CLIENT_ID=... TTHC_SIM_CLIENT_SECRET=... \\
        python -m simulator --port 8765 --seed 766 --dossiers-per-year 100000 [--province lai_chau]

    python -m simulator --list-provinces

``--province`` picks the simulated system (docs/simulator-provinces.md); ``--start``, ``--now``
and ``--dossiers-per-year`` default to that province's span and volume.

The national portal's public evaluation API (POST /api/v1/reporting/evaluation/..., no token) is
served on the same port. Prints one line with the base URL once it accepts connections; stops
cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from datetime import date, datetime

from simulator.provinces import DEFAULT_PROVINCE, PROVINCES
from simulator.server import FaultConfig, SimulatorServer

CLIENT_ID_ENV = "TTHC_SIM_CLIENT_ID"
CLIENT_SECRET_ENV = "TTHC_SIM_CLIENT_SECRET"


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a share is between 0 and 1, not {text}")
    return value


def _defect_share(text: str) -> tuple[str, float]:
    rule, separator, share = text.partition("=")
    if not separator or not rule:
        raise argparse.ArgumentTypeError(f"expected RULE=SHARE, not {text!r}")
    return rule.strip(), _share(share)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=766, help="seeds the data and the faults")
    parser.add_argument(
        "--province", default=DEFAULT_PROVINCE, choices=sorted(PROVINCES), help="the simulated system"
    )
    parser.add_argument(
        "--list-provinces",
        action="store_true",
        help="print each province's id, code, name and span, and stop",
    )
    parser.add_argument(
        "--start", type=date.fromisoformat, default=None, help="first day of data (default: the province's)"
    )
    parser.add_argument(
        "--now", type=datetime.fromisoformat, default=None, help="the source's now (default: the province's)"
    )
    parser.add_argument("--dossiers-per-year", type=int, default=None, help="default: the province's volume")
    parser.add_argument(
        "--defect-share",
        type=_defect_share,
        action="append",
        default=[],
        metavar="RULE=SHARE",
        help="plant a record defect (a quality rule name) in this share of dossiers; repeatable",
    )
    faults = parser.add_argument_group("faults (shares of data requests)")
    faults.add_argument("--server-error-share", type=_share, default=0.0)
    faults.add_argument("--envelope-error-share", type=_share, default=0.0)
    faults.add_argument("--too-many-requests-share", type=_share, default=0.0)
    faults.add_argument("--retry-after-s", type=int, default=1)
    faults.add_argument("--slow-share", type=_share, default=0.0)
    faults.add_argument("--slow-s", type=float, default=0.0)
    faults.add_argument("--token-lifetime-s", type=int, default=300)
    faults.add_argument("--update-during-extraction-share", type=_share, default=0.0)
    portal = parser.add_argument_group(
        "the national portal's evaluation API (POST /api/v1/reporting/evaluation/..., same port)"
    )
    portal.add_argument(
        "--portal-too-many-requests-share",
        type=_share,
        default=0.0,
        help="share of portal requests answered 429 with Retry-After (--retry-after-s); 5xx follow --server-error-share",
    )
    portal.add_argument(
        "--portal-disagreements",
        type=int,
        default=0,
        metavar="N",
        help="N synchronized dossiers, chosen from the seed, that the portal counts as late although the export says on time",
    )
    portal.add_argument(
        "--portal-disagreement",
        action="append",
        default=[],
        metavar="MAHOSO",
        help="a named dossier the portal counts as late although the export says on time; repeatable",
    )
    return parser.parse_args(argv)


def list_provinces() -> str:
    lines = []
    for spec in PROVINCES.values():
        received = f", receives until {spec.last_reception_day}" if spec.reception_end else ""
        merged = f", merged from {' + '.join(spec.predecessors)}" if spec.predecessors else ""
        lines.append(
            f"{spec.id}\t{spec.code}\t{spec.full_name}\t{spec.start} .. {spec.now:%Y-%m-%d %H:%M}"
            f"{received}{merged}\tMaHoSo style {spec.code_style}, {spec.dossiers_per_year} dossiers/year"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list_provinces:
        print(list_provinces())
        return 0
    client_id = os.environ.get(CLIENT_ID_ENV)
    client_secret = os.environ.get(CLIENT_SECRET_ENV)
    if not client_id or not client_secret:
        print(
            f"simulator: set {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} to the OAuth2 client "
            "credentials the simulator should accept",
            file=sys.stderr,
        )
        return 2

    # Imported here so that --help and the credential check answer without building data.
    from simulator.generator import SimulationConfig, build_province

    province = build_province(
        SimulationConfig(
            seed=args.seed,
            start=args.start,
            now=args.now,
            dossiers_per_year=args.dossiers_per_year,
            defect_shares=dict(args.defect_share),
            province=args.province,
        )
    )
    faults = FaultConfig(
        server_error_share=args.server_error_share,
        envelope_error_share=args.envelope_error_share,
        too_many_requests_share=args.too_many_requests_share,
        retry_after_s=args.retry_after_s,
        slow_share=args.slow_share,
        slow_s=args.slow_s,
        token_lifetime_s=args.token_lifetime_s,
        update_during_extraction_share=args.update_during_extraction_share,
        portal_too_many_requests_share=args.portal_too_many_requests_share,
        seed=args.seed,
    )
    portal = None
    if args.portal_disagreements or args.portal_disagreement:
        portal = province.make_portal(args.portal_disagreements, args.portal_disagreement)
        for d in portal.disagreements:
            print(
                f"simulator: the portal counts {d.dossier_code} ({d.unit_code}, ended {d.end_month:%Y-%m}) "
                f"as late: items {', '.join(d.items)} of {', '.join(d.ancestors)}",
                file=sys.stderr,
            )
    server = SimulatorServer(
        province,
        client_id=client_id,
        client_secret=client_secret,
        faults=faults,
        host=args.host,
        port=args.port,
        portal=portal,
    )

    def stop(signum: int, frame: object) -> None:
        # shutdown() waits for serve_forever to return, which runs in this very thread: ask from
        # another one.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"simulator ready on {server.base_url}", flush=True)
    print(
        f"simulator: province {args.province} ({province.spec.code}, {province.spec.full_name}), "
        f"{province.config.start} .. {province.config.now}, {len(province.table)} dossiers",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

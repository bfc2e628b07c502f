"""The `fleetboard` command: validate, collect, demo, bench, inventory, alerts. Thin: the work is
elsewhere. Its exit codes are listed in exits.py (and in `fleetboard --help`).

The command never waits on a source stuck past the pass deadline: when the pass leaves such
work behind, the process ends at once after printing its report (see `main`).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from fleetboard import __version__
from fleetboard.config import ConfigError, load
from fleetboard.exits import EXIT_BAD_INPUT, EXIT_CODES, EXIT_INTERRUPTED, EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code.

    Called without `argv` (the `fleetboard` command, `python -m fleetboard`), it is the
    process's own command line: if `collect` left threads behind (a source stuck in a read,
    a DNS lookup that never returns), which the interpreter's exit may wait on forever, the
    process ends at once with the code, after flushing its output. (Only `collect`: the
    demo cleans up after itself on exit, and must be let to.)
    """
    args = _parser().parse_args(argv)
    code = _run(args)
    if argv is None and args.run is _collect:
        _end_now_if_work_left(code)
    return code


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        code: int = args.run(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return code


def _env_files_arguments(p: argparse.ArgumentParser) -> None:
    """What `inventory import` and `inventory check` both read, and how."""
    p.add_argument("scripts", type=Path, help="the fleet's scripts/ folder")
    p.add_argument("--chain", default="heima", choices=["heima", "base"], help="(heima)")
    p.add_argument(
        "--strict",
        action="store_true",
        help="an environment whose env files are broken is fatal, instead of left out",
    )


def _with_exit_codes(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str, codes: str
) -> argparse.ArgumentParser:
    """A command whose --help ends with its exit codes, laid out as written."""
    return sub.add_parser(
        name, help=help, epilog=codes, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleetboard",
        description="A read-only status board for a fleet of service stacks.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fleetboard {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step to stderr")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check fleet.toml and print every problem")
    p.add_argument("--config", required=True, type=Path, help="path to fleet.toml")
    p.set_defaults(run=_validate)

    p = _with_exit_codes(
        sub, "collect", "run one pass and write the board into a folder", EXIT_CODES
    )
    p.add_argument("--config", required=True, type=Path, help="path to fleet.toml")
    p.add_argument("--out", required=True, type=Path, help="folder to write the board into")
    p.add_argument("--endpoint-url", help="send AWS requests here (overrides [aws] endpoint_url)")
    p.add_argument("--fail-on-red", action="store_true", help="exit 1 when the fleet is red")
    p.add_argument(
        "--shards",
        type=int,
        default=1,
        metavar="N",
        help="split the probing over N processes and merge, as [deploy] shards does on AWS (1)",
    )
    p.set_defaults(run=_collect)

    p = sub.add_parser("demo", help="start a simulated fleet on 127.0.0.1 and show its board")
    p.add_argument("--out", type=Path, default=Path("board"), help="folder for the board (./board)")
    p.add_argument("--once", action="store_true", help="collect once, write the board, exit")
    p.add_argument("--port", type=int, default=8000, help="port to serve the board on (8000)")
    p.add_argument("--every", type=int, default=60, help="seconds between passes while serving")
    p.set_defaults(run=_demo)

    inv = sub.add_parser(
        "inventory", help="fleet.toml from the fleet's own env files, and drift against them"
    )
    inv_sub = inv.add_subparsers(required=True, metavar="ACTION")
    from fleetboard.inventory_cmd import CHECK_EXIT_CODES, IMPORT_EXIT_CODES

    p = _with_exit_codes(
        inv_sub, "import", "write fleet.toml from scripts/*.env", IMPORT_EXIT_CODES
    )
    _env_files_arguments(p)
    p.add_argument("--out", required=True, type=Path, help="fleet.toml to write")
    p.add_argument(
        "--merge", action="store_true", help="keep keys written by hand in the existing --out"
    )
    p.set_defaults(run=_inventory_import)
    p = _with_exit_codes(
        inv_sub, "check", "list where fleet.toml and scripts/*.env disagree", CHECK_EXIT_CODES
    )
    _env_files_arguments(p)
    p.add_argument("--config", required=True, type=Path, help="path to fleet.toml")
    p.set_defaults(run=_inventory_check)

    alerts = sub.add_parser("alerts", help="the alert channels of [alerts]")
    alerts_sub = alerts.add_subparsers(required=True, metavar="ACTION")
    from fleetboard.alerts_cmd import ALERTS_TEST_EXIT_CODES

    p = _with_exit_codes(
        alerts_sub,
        "test",
        "send one marked test message to every channel; say which answered",
        ALERTS_TEST_EXIT_CODES,
    )
    p.add_argument("--config", required=True, type=Path, help="path to fleet.toml")
    p.set_defaults(run=_alerts_test)

    p = sub.add_parser("bench", help="time one pass over a simulated fleet of N environments")
    p.add_argument("--envs", type=int, default=50, help="environments to simulate (50)")
    p.add_argument("--endpoints", type=int, default=10, help="endpoints per environment (10)")
    p.add_argument(
        "--blackhole",
        type=float,
        default=0.0,
        metavar="PCT",
        help="percent of endpoints that accept and never answer",
    )
    p.add_argument(
        "--latency-ms",
        type=float,
        default=25.0,
        help="simulated network latency of each answer (25 ms)",
    )
    p.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        help="skip the one-probe-at-a-time baseline (minutes on a large fleet)",
    )
    p.add_argument(
        "--resolve",
        action="store_true",
        help="look every host name up through the demo's DNS zone instead of fixed addresses",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="[probe] workers: processes probing at once (1)",
    )
    p.add_argument(
        "--shards",
        type=int,
        default=1,
        metavar="N",
        help="collect as a sharded pass: N shard processes and a merge (1: one collector)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_bench)
    return parser


def _validate(args: argparse.Namespace) -> int:
    loaded = load(args.config)
    inv = loaded.inventory
    hosts = sum(len(e.hosts) for e in inv.environments)
    print(f"{args.config}: ok: {len(inv.environments)} environments, {hosts} hosts")
    return EXIT_OK


def _collect(args: argparse.Namespace) -> int:
    from fleetboard.report import pass_and_report

    loaded = load(args.config)
    if args.endpoint_url:
        aws = dataclasses.replace(loaded.inventory.aws, endpoint_url=args.endpoint_url)
        loaded = dataclasses.replace(
            loaded, inventory=dataclasses.replace(loaded.inventory, aws=aws)
        )
    from fleetboard.shards.plan import MAX_SHARDS

    if not 1 <= args.shards <= MAX_SHARDS:
        print(f"fleetboard collect: --shards must be 1–{MAX_SHARDS}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return pass_and_report(loaded, args.out, fail_on_red=args.fail_on_red, shards=args.shards)


def _end_now_if_work_left(code: int) -> None:
    """End the process now if any thread but this one is still running.

    A clean pass leaves none. One left is a source the pass gave up on, and the
    interpreter's exit may wait for it forever: a daemon thread is not joined, but a
    concurrent.futures worker is (at exit, daemon or not: net.py's DNS lookups run in
    one), and waiting on it is exactly the hang the pass deadline exists to prevent.
    """
    left = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if not left:
        return
    logging.getLogger("fleetboard").info("ending with threads left behind: %s", left)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _inventory_import(args: argparse.Namespace) -> int:
    from fleetboard.inventory_cmd import run_import

    return run_import(
        args.scripts, args.out, merge=args.merge, chain=args.chain, strict=args.strict
    )


def _inventory_check(args: argparse.Namespace) -> int:
    from fleetboard.inventory_cmd import run_check

    return run_check(args.scripts, args.config, chain=args.chain, strict=args.strict)


def _alerts_test(args: argparse.Namespace) -> int:
    from fleetboard.alerts_cmd import run_alerts_test

    return run_alerts_test(load(args.config))


def _demo(args: argparse.Namespace) -> int:
    from fleetboard.demo.run import run_demo

    return run_demo(out=args.out, once=args.once, port=args.port, every_s=args.every)


def _bench(args: argparse.Namespace) -> int:
    from fleetboard.bench import run_bench

    if (
        args.envs < 1
        or args.endpoints < 1
        or not 0 <= args.blackhole <= 100
        or not 1 <= args.workers <= 16
        or not 1 <= args.shards <= 40
    ):
        print(
            "fleetboard bench: --envs and --endpoints must be ≥ 1, --blackhole 0–100, "
            "--workers 1–16, --shards 1–40",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    return run_bench(
        envs=args.envs,
        endpoints=args.endpoints,
        blackhole_pct=args.blackhole,
        latency_ms=args.latency_ms,
        as_json=args.json,
        baseline=args.baseline,
        resolve=args.resolve,
        workers=args.workers,
        shards=args.shards,
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

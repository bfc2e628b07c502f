"""The `fleetboard` command: validate, collect, demo, bench, inventory. Thin: the work is
elsewhere.

Exit codes (the same list is in `fleetboard --help`):
  0  done: for collect, the whole board (history, latest.json, assets, index.html) is new
  1  the board is red and --fail-on-red was given, or `inventory check` found drift
  2  bad input (config, env files, arguments)
  3  the pass ran but the board was not replaced: latest.json and index.html are still the
     last good board's (the snapshot failed its checks, or the folder could not be written
     before latest.json was); stderr lists any file that was written (a history object)
  4  the board was replaced part-way: latest.json is new but index.html or an asset is
     not (a write failed after latest.json); stderr lists what was and was not written,
     and the next whole pass repairs it

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
from fleetboard.config import ConfigError, LoadedConfig, load

EXIT_OK, EXIT_RED, EXIT_BAD_INPUT, EXIT_NOT_PUBLISHED, EXIT_PART_PUBLISHED = 0, 1, 2, 3, 4

EXIT_CODES = """exit codes:
  0  done (collect: the whole board is new)
  1  the board is red and --fail-on-red was given; `inventory check` found drift
  2  bad input: config, env files, arguments
  3  the board was not replaced: latest.json and index.html are the last good board's
  4  the board was replaced part-way: latest.json is new, index.html or an asset is not"""


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
        return 130
    return code


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

    p = sub.add_parser(
        "collect",
        help="run one pass and write the board into a folder",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", required=True, type=Path, help="path to fleet.toml")
    p.add_argument("--out", required=True, type=Path, help="folder to write the board into")
    p.add_argument("--endpoint-url", help="send AWS requests here (overrides [aws] endpoint_url)")
    p.add_argument("--fail-on-red", action="store_true", help="exit 1 when the fleet is red")
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
    p = inv_sub.add_parser("import", help="write fleet.toml from scripts/*.env")
    p.add_argument("scripts", type=Path, help="the fleet's scripts/ folder")
    p.add_argument("--out", required=True, type=Path, help="fleet.toml to write")
    p.add_argument(
        "--merge", action="store_true", help="keep keys written by hand in the existing --out"
    )
    p.add_argument("--chain", default="heima", choices=["heima", "base"], help="(heima)")
    p.set_defaults(run=_inventory_import)
    p = inv_sub.add_parser("check", help="list where fleet.toml and scripts/*.env disagree")
    p.add_argument("scripts", type=Path, help="the fleet's scripts/ folder")
    p.add_argument("--config", required=True, type=Path, help="path to fleet.toml")
    p.add_argument("--chain", default="heima", choices=["heima", "base"], help="(heima)")
    p.set_defaults(run=_inventory_check)

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
    loaded = load(args.config)
    if args.endpoint_url:
        aws = dataclasses.replace(loaded.inventory.aws, endpoint_url=args.endpoint_url)
        loaded = dataclasses.replace(
            loaded, inventory=dataclasses.replace(loaded.inventory, aws=aws)
        )
    return _pass_and_report(loaded, args.out, fail_on_red=args.fail_on_red)


def _pass_and_report(
    loaded: LoadedConfig,
    out: Path,
    *,
    fail_on_red: bool = False,
    context_overrides: dict[str, object] | None = None,
) -> int:
    from fleetboard import collect
    from fleetboard.publish import LocalPublisher

    ctx = collect.laptop_context(loaded, **(context_overrides or {}))
    try:
        result = collect.run_pass(loaded, ctx, LocalPublisher(out))
    except OSError as exc:  # the folder could not even be read (e.g. --out is a file)
        print(
            f"fleetboard: cannot write the board into {out}: {exc.strerror or exc}", file=sys.stderr
        )
        return EXIT_NOT_PUBLISHED
    print(report(result))
    if result.error:
        where = f"cannot write the board into {out}: " if result.publish_failed else ""
        print(f"fleetboard: {where}{result.error}", file=sys.stderr)
        return publish_code(result.published)
    if fail_on_red and result.board.summary.status.value == "red":
        return EXIT_RED
    return EXIT_OK


def publish_code(written: Sequence[str]) -> int:
    """The exit code of a pass whose board was not published whole: 3 when latest.json is
    still the last good board's (then so is index.html, written after it), else 4."""
    from fleetboard.publish import LATEST

    return EXIT_PART_PUBLISHED if LATEST in written else EXIT_NOT_PUBLISHED


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


def report(result: object) -> str:
    """What a pass says on a terminal: status, issues, next action, where the board is."""
    from fleetboard.collect import PassResult

    assert isinstance(result, PassResult)
    s = result.board.summary
    c = result.board.collector
    lines = [f"fleet {s.status.value}: {s.message}"]
    lines += [f"  - {issue.text}" for issue in s.issues[:20]]
    if len(s.issues) > 20:
        lines.append(f"  ... and {len(s.issues) - 20} more")
    lines.append(f"next: {s.suggested_next_action}")
    failed = [f"{name} ({run.error})" for name, run in c.sources.items() if not run.ok]
    lines.append(
        f"pass: {c.duration_s:.2f} s, {c.probes} probes, {c.aws_requests} AWS requests"
        + (f"; failed sources: {', '.join(failed)}" if failed else "")
    )
    if result.published:
        lines.append(f"wrote {len(result.published)} files: {', '.join(result.published)}")
    if result.unpublished:
        lines.append(f"NOT written: {', '.join(result.unpublished)}")
    return "\n".join(lines)


def _inventory_import(args: argparse.Namespace) -> int:
    from fleetboard.inventory_cmd import run_import

    return run_import(args.scripts, args.out, merge=args.merge, chain=args.chain)


def _inventory_check(args: argparse.Namespace) -> int:
    from fleetboard.inventory_cmd import run_check

    return run_check(args.scripts, args.config, chain=args.chain)


def _demo(args: argparse.Namespace) -> int:
    from fleetboard.demo.run import run_demo

    return run_demo(out=args.out, once=args.once, port=args.port, every_s=args.every)


def _bench(args: argparse.Namespace) -> int:
    from fleetboard.bench import run_bench

    if args.envs < 1 or args.endpoints < 1 or not 0 <= args.blackhole <= 100:
        print(
            "fleetboard bench: --envs and --endpoints must be ≥ 1, --blackhole 0–100",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    return run_bench(
        envs=args.envs,
        endpoints=args.endpoints,
        blackhole_pct=args.blackhole,
        latency_ms=args.latency_ms,
        as_json=args.json,
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""`fleetboard inventory import` and `inventory check`: what they print and write.

Nothing is half-written: the new fleet.toml is checked like any fleet.toml, written to a
temporary file beside the target and renamed over it only when whole. An environment whose
env files are broken is named and left out, the others imported; the exit code says so
(IMPORT_EXIT_CODES, shown by `--help`).
"""

from __future__ import annotations

import os
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from pathlib import Path

from fleetboard import config, importer, tomlout
from fleetboard.envfiles import EnvFileError, env_order
from fleetboard.exits import EXIT_BAD_INPUT, EXIT_DRIFT, EXIT_LEFT_OUT, EXIT_OK

IMPORT_EXIT_CODES = """exit codes:
  0  fleet.toml written with every environment
  1  fleet.toml written, but environments whose env files are broken (a bash error, a
     missing key or file, a refused line) were left out: each is named on stderr, and
     --merge keeps its table from the previous fleet.toml
  2  nothing written: bad input (no such folder, env files that disagree on the zone,
     zone id, region or account, no environment readable, a result that would not
     validate), or --strict and an environment's env files are broken"""

CHECK_EXIT_CODES = """exit codes:
  0  fleet.toml agrees with the env files
  1  drift found (listed on stdout), or environments whose env files are broken were left
     out of the comparison (named on stderr)
  2  bad input: fleet.toml invalid, the env files unreadable or disagreeing on a
     fleet-level value, or --strict and an environment's env files are broken"""

HEADER = """fleet.toml written by `fleetboard inventory import {scripts}`
from the fleet's env files (operator-workstation*.env, broker*.env). Regenerate it rather
than edit it: run the import again with --merge, which keeps keys you added by hand.
Each comment names the file and key a value came from."""


def run_import(scripts: Path, out: Path, *, merge: bool, chain: str, strict: bool = False) -> int:
    try:
        doc = importer.build(scripts, chain=chain, strict=strict)
        if merge and out.exists():
            doc = importer.merge(doc, _previous(out))
    except EnvFileError as exc:
        _say("import", exc.problems)
        return EXIT_BAD_INPUT
    text = tomlout.dumps(doc.data, doc.comments, HEADER.format(scripts=scripts))
    for note in doc.notes:
        print(note, file=sys.stderr)
    _say("import", _left_out(doc))
    try:
        config.loads(text, source=str(out), base_dir=out.parent)
    except config.ConfigError as exc:  # a bug, or an env value the schema refuses
        print(
            f"fleetboard inventory import: the result would not be valid; {out} untouched:",
            file=sys.stderr,
        )
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    _write_atomically(out, text)
    envs = ", ".join(doc.data["environments"])
    print(f"{out}: {len(doc.data['environments'])} environments ({envs})")
    return EXIT_LEFT_OUT if doc.left_out else EXIT_OK


def run_check(scripts: Path, config_path: Path, *, chain: str, strict: bool = False) -> int:
    loaded = config.load(config_path)  # ConfigError: the cli says it, exit 2
    try:
        doc = importer.build(scripts, chain=chain, strict=strict)
    except EnvFileError as exc:
        _say("check", exc.problems)
        return EXIT_BAD_INPUT
    for note in doc.notes:
        print(note, file=sys.stderr)
    _say("check", _left_out(doc))
    found = importer.drift(doc, loaded.inventory)
    for line in found:
        print(f"drift: {line}")
    if found:
        print(
            f"{len(found)} difference(s): run `fleetboard inventory import {scripts} --out "
            f"{config_path} --merge` to take the env files' values",
            file=sys.stderr,
        )
        return EXIT_DRIFT
    if doc.left_out:
        compared = ", ".join(doc.data["environments"])
        print(f"{config_path}: agrees with the env files in {scripts} for {compared} only")
        return EXIT_LEFT_OUT
    print(f"{config_path}: agrees with the env files in {scripts}")
    return EXIT_OK


def _left_out(doc: importer.Document) -> list[str]:
    ordered = sorted(doc.left_out.items(), key=lambda kv: env_order(kv[0]))
    return [f"{name} left out: {why}" for name, why in ordered]


def _say(action: str, problems: Sequence[str]) -> None:
    for problem in problems:
        print(f"fleetboard inventory {action}: {problem}", file=sys.stderr)


def _previous(out: Path) -> dict[str, object]:
    try:
        return tomllib.loads(out.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise EnvFileError(f"{out}: cannot read the previous fleet.toml to merge ({exc})") from None


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

"""`fleetboard inventory import` and `inventory check`: what they print and write.

Nothing is half-written: the new fleet.toml is checked like any fleet.toml, written to a
temporary file beside the target and renamed over it only when whole.
"""

from __future__ import annotations

import os
import sys
import tempfile
import tomllib
from pathlib import Path

from fleetboard import config, importer, tomlout
from fleetboard.envfiles import EnvFileError
from fleetboard.exits import EXIT_BAD_INPUT, EXIT_DRIFT, EXIT_OK

HEADER = """fleet.toml written by `fleetboard inventory import {scripts}`
from the fleet's env files (operator-workstation*.env, broker*.env). Regenerate it rather
than edit it: run the import again with --merge, which keeps keys you added by hand.
Each comment names the file and key a value came from."""


def run_import(scripts: Path, out: Path, *, merge: bool, chain: str) -> int:
    try:
        doc = importer.build(scripts, chain=chain)
        if merge and out.exists():
            doc = importer.merge(doc, _previous(out))
    except EnvFileError as exc:
        print(f"fleetboard inventory import: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    text = tomlout.dumps(doc.data, doc.comments, HEADER.format(scripts=scripts))
    for note in doc.notes:
        print(note, file=sys.stderr)
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
    return EXIT_OK


def run_check(scripts: Path, config_path: Path, *, chain: str) -> int:
    loaded = config.load(config_path)  # ConfigError: the cli says it, exit 2
    try:
        doc = importer.build(scripts, chain=chain)
    except EnvFileError as exc:
        print(f"fleetboard inventory check: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    found = importer.drift(doc, loaded.inventory)
    for line in found:
        print(f"drift: {line}")
    if not found:
        print(f"{config_path}: agrees with the env files in {scripts}")
        return EXIT_OK
    print(
        f"{len(found)} difference(s): run `fleetboard inventory import {scripts} --out "
        f"{config_path} --merge` to take the env files' values",
        file=sys.stderr,
    )
    return EXIT_DRIFT


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

"""The fleet's own env files, read the way its scripts read them: through bash.

Each environment has two files (docs/fleet.md#env-files): `operator-workstation<ext>.env` (account,
hosts, chain) and `broker<ext>.env` (INSTANCE_ID, EIP), written for `set -a; . file`, with
shell interpolation (`${BROKER_HOST#*.}`), so a line parser gets host names wrong. They are
evaluated by bash, one pair at a time, in an empty environment (`env -i`, no profile, no
rc), with a time limit, and only after every line has been checked to be a plain
assignment: a value with command substitution (`$(…)` or backticks), or any line that is
not `KEY=value`, is refused with its file and line before anything runs.

    found = discover(Path("scripts"))  # pairs, notes on skipped files, broken environments
    checked = check_pair(found.pairs[0])  # every line of both files, before anything runs
    values = evaluate(checked)  # {"BROKER_HOST": "broker.litentry.org", ...}

An environment whose files are broken does not stop the others: `discover` and the caller
keep each environment's problem beside it (`Discovery.broken`), and the importer decides.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

#: `KEY=value`, optionally `export KEY=value`: the only lines an env file may hold.
_ASSIGNMENT = re.compile(r"^(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")
_OPERATOR = re.compile(r"^operator-workstation(?P<ext>(?:\.[a-z0-9-]+)?)\.env$")
TIME_LIMIT_S = 5.0


class EnvFileError(ValueError):
    """A problem with the env files, naming the file (and line or key): one line a problem."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class EnvPair:
    """One environment's two files. `name` is the board's environment name."""

    name: str  # "prod", "base", "test", "test-2"
    operator: Path
    machine: Path


def environment_name(ext: str) -> str:
    """File extension -> environment name: "" prod, ".test" test (slot 1), ".test-2", ".base"."""
    return ext.lstrip(".") or "prod"


@dataclass(frozen=True, slots=True)
class Discovery:
    """What `discover` found: the complete pairs, notes on files skipped on purpose, and
    the environments whose files are incomplete, each with its problem (naming the file)."""

    pairs: list[EnvPair]
    notes: list[str] = field(default_factory=list)
    broken: dict[str, str] = field(default_factory=dict)


def discover(scripts: Path) -> Discovery:
    """Every environment's file pair in `scripts`, in a stable order. Raises EnvFileError
    only when there is nothing to read at all (no folder, no operator file)."""
    if not scripts.is_dir():
        raise EnvFileError(f"{scripts}: no such folder (the fleet's scripts/ folder)")
    found = Discovery(pairs=[])
    for path in sorted(scripts.glob("operator-workstation*.env")):
        m = _OPERATOR.match(path.name)
        if m is None:
            continue
        ext = m.group("ext")
        if ext.startswith(".ve"):
            found.notes.append(f"{path}: Volcano Engine (not AWS): skipped")
            continue
        machine = scripts / f"broker{ext}.env"
        if not machine.is_file():
            found.broken[environment_name(ext)] = (
                f"{machine}: missing: {path.name} has no machine file beside it "
                "(INSTANCE_ID and EIP live there)"
            )
            continue
        found.pairs.append(EnvPair(environment_name(ext), path, machine))
    if not found.pairs and not found.broken:
        raise EnvFileError(f"{scripts}: no operator-workstation*.env files")
    found.pairs.sort(key=lambda p: env_order(p.name))
    return found


def env_order(name: str) -> tuple[int, int, str]:
    """prod, base, test (slot 1), test-2, test-3, …, then anything else by name."""
    if name == "prod":
        return (0, 0, "")
    if name == "base":
        return (1, 0, "")
    m = re.fullmatch(r"test(?:-(\d+))?", name)
    if m:
        return (2, int(m.group(1) or 1), "")
    return (3, 0, name)


def check_lines(path: Path) -> list[str]:
    """The keys a file assigns, in order; raises for any line that could run something."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EnvFileError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise EnvFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    keys: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _ASSIGNMENT.match(line)
        if m is None:
            raise EnvFileError(
                f"{path}:{number}: not a KEY=value line: refused before anything runs"
            )
        why = unsafe_value(m.group("value"))
        if why is not None:
            raise EnvFileError(
                f"{path}:{number}: {m.group('key')}: {why}: refused before anything runs"
            )
        keys.append(m.group("key"))
    return keys


def unsafe_value(value: str) -> str | None:
    """Why bash would run something for this value, or None when it is a plain word.

    Like the fleet's CI materializer, `$(` and backticks are refused anywhere, even quoted.
    Quotes, `${…}` interpolation and a trailing `# comment` are fine; an unquoted operator
    or unquoted whitespace followed by more words (`X=a touch f` runs `touch`) is not.
    """
    if "$(" in value or "`" in value:
        return "command substitution ($(…) or backticks)"
    quote: str | None = None
    i = 0
    while i < len(value):
        c = value[i]
        if quote == "'":
            quote = None if c == "'" else quote
        elif c == "\\":
            i += 1  # an escaped character, quoted or not
        elif value.startswith("${", i):
            i = _brace_end(value, i)  # one word to bash, spaces and all: ${X?not set}
            if i < 0:
                return "unterminated ${"
        elif quote == '"':
            quote = None if c == '"' else quote
        elif c in "'\"":
            quote = c
        elif c in " \t":
            rest = value[i:].lstrip()
            return None if not rest or rest.startswith("#") else "unquoted words after the value"
        elif c in ";&|<>()":
            return f"shell operator {c!r}"
        i += 1
    return "unterminated quote" if quote else None


def _brace_end(value: str, start: int) -> int:
    depth = 0
    for j in range(start + 1, len(value)):
        if value[j] == "{":
            depth += 1
        elif value[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return -1


@dataclass(frozen=True, slots=True)
class Checked:
    """A pair whose every line was checked to be a plain assignment. `evaluate` takes only
    this, so no file reaches bash unchecked."""

    pair: EnvPair
    #: Each key either file assigns, and the file bash takes its value from (the last one
    #: sourced that assigns it), for messages that name where a value came from.
    sources: dict[str, Path]


def check_pair(pair: EnvPair) -> Checked:
    """Both files' lines checked (check_lines); raises EnvFileError naming file and line."""
    sources = dict.fromkeys(check_lines(pair.operator), pair.operator)
    sources.update(dict.fromkeys(check_lines(pair.machine), pair.machine))
    return Checked(pair, sources)


def evaluate(checked: Checked) -> dict[str, str]:
    """Both files' keys as bash sees them after `set -a; . operator; . machine`."""
    pair = checked.pair
    keys = list(checked.sources)
    bash = shutil.which("bash")
    if bash is None:
        raise EnvFileError("bash not found: the env files are shell and need it to be read")
    # $1 and $2 are the files; the rest are the keys to print, NUL-separated.
    script = (
        'set -a; . "$1" || exit 3; . "$2" || exit 3; shift 2; '
        'for k; do printf "%s\\0" "${!k-}"; done'
    )
    try:
        # bash with a fixed script; the files' lines were checked above.
        done = subprocess.run(
            [
                "/usr/bin/env",
                "-i",
                bash,
                "--noprofile",
                "--norc",
                "-c",
                script,
                "bash",
                str(pair.operator.resolve()),
                str(pair.machine.resolve()),
                *keys,
            ],
            capture_output=True,
            timeout=TIME_LIMIT_S,
            check=False,
            cwd=pair.operator.parent,
        )
    except subprocess.TimeoutExpired:
        raise EnvFileError(
            f"{pair.operator} + {pair.machine.name}: bash took longer than {TIME_LIMIT_S:.0f} s"
        ) from None
    if done.returncode != 0:
        error = done.stderr.decode(errors="replace").strip().splitlines()
        raise EnvFileError(
            f"{pair.operator} + {pair.machine.name}: bash failed: "
            f"{error[-1] if error else f'exit code {done.returncode}'}"
        )
    values = done.stdout.decode(errors="replace").split("\0")[: len(keys)]
    return dict(zip(keys, values, strict=True))

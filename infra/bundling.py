"""The collector's Lambda asset, built without Docker: manylinux wheels from the lock file,
the fleetboard package with its site/ and fleet.toml, precompiled for CPython 3.12.

    code = collector_code(Path("fleet.toml"))  # a lambda.Code for CollectorStack
    stats = build_bundle(Path("out"), Path("fleet.toml"))  # the same bundle, outside CDK
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

from fleetboard.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "lambdas" / "requirements.lock"
PACKAGE = ROOT / "lambdas" / "fleetboard"
SITE = ROOT / "site"

#: The runtime the wheels and the .pyc files are built for: change all three together.
RUNTIME = lambda_.Runtime.PYTHON_3_12
PYTHON_VERSION = "3.12"
#: x86_64 although every locked wheel also exists for arm64 (20 % cheaper per GB-second):
#: the build machines are x86_64, so the tests import the very bundle that ships, native
#: `.so` files included. At one pass a minute the saving would be cents a month.
ARCHITECTURE = lambda_.Architecture.X86_64
PLATFORM = "manylinux2014_x86_64"

#: Where Lambda unpacks the asset: the .pyc name their sources there rather than this
#: machine's temporary folder, so no build path ships.
TASK_ROOT = "/var/task"

#: Left out of the package: the simulated fleet and the benchmark (bench*.py) need moto and
#: trustme, which are not bundled, and nothing the Lambda runs imports them.
BENCHMARK = frozenset({"bench.py", "bench_fleet.py", "bench_measure.py", "bench_shards.py"})
EXCLUDED_NAMES = frozenset({"__pycache__", "demo", ".mypy_cache", ".pytest_cache"}) | BENCHMARK
EXCLUDED_SUFFIXES = (".pyc", ".pyo")

#: Pruned from the installed wheels: what only a compiler, a type checker or the package's
#: own test suite reads (Cython and C sources, headers, stubs, `tests/` folders): 8 MB of
#: the 99 MB unpacked, nothing a pass imports (the smoke test imports the whole bundle,
#: web3 and cryptography too, from what is left).
PRUNED_SUFFIXES = (".c", ".h", ".pyx", ".pxd", ".pyi")
PRUNED_FOLDERS = frozenset({"tests"})


class BundlingError(RuntimeError):
    """The asset could not be built; the message says which step and how to fix it."""


@dataclass(frozen=True, slots=True)
class BundleStats:
    """What one build produced and what it cost."""

    files: int
    bytes: int
    pip_s: float
    compile_s: float
    python: str | None  # the CPython 3.12 used for pip and compileall, if one was found


# --------------------------------------------------------------------------- inputs


def bundle_inputs(config_path: Path) -> list[tuple[str, Path]]:
    """(path in the asset, source file) for every file copied as is, in a stable order.

    One list for the copy and the hash, so the asset hash covers exactly what is copied.
    """
    files = [(f"fleetboard/{rel}", PACKAGE / rel) for rel in _tree(PACKAGE, excluded=True)]
    files += [(f"fleetboard/site/{rel}", SITE / rel) for rel in _tree(SITE, excluded=False)]
    files += _config_files(config_path)
    return files


def _tree(base: Path, *, excluded: bool) -> Iterator[str]:
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base)
        if not path.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        if excluded and (
            EXCLUDED_NAMES.intersection(rel.parts) or path.suffix in EXCLUDED_SUFFIXES
        ):
            continue
        yield rel.as_posix()


def _config_files(config_path: Path) -> list[tuple[str, Path]]:
    """fleet.toml at the asset root, and the CA bundle it names, at the same relative path.

    The handler loads `fleet.toml` from the task root, so a relative `probe.ca_bundle` must
    sit beside it there as it does here; a path that leaves the config's folder cannot.
    """
    files = [("fleet.toml", config_path)]
    raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    ca_bundle = raw.get("probe", {}).get("ca_bundle")
    if ca_bundle is not None:
        rel = PurePosixPath(ca_bundle)
        if rel.is_absolute() or ".." in rel.parts:
            raise ConfigError(
                [
                    f"{config_path}: probe.ca_bundle: {ca_bundle!r} cannot be bundled for "
                    "Lambda; use a path relative to fleet.toml, inside its folder"
                ]
            )
        files.append((rel.as_posix(), config_path.parent / rel))
    return files


def asset_hash(config_path: Path) -> str:
    """sha256 of everything the bundle is built from: package, site, config, lock, recipe.

    The recipe (this file) is included, so changing how the bundle is built rebuilds it.
    """
    digest = hashlib.sha256()
    inputs = [*bundle_inputs(config_path), ("requirements.lock", LOCK), ("recipe", Path(__file__))]
    for name, source in inputs:
        data = source.read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    digest.update(f"{RUNTIME.name}\0{PLATFORM}".encode())
    return digest.hexdigest()


# --------------------------------------------------------------------------- tools


def cache_dir() -> Path:
    """`${FLEETBOARD_CACHE:-~/.cache/fleetboard}`: pip's cache in pip/, wheelhouses in wheels/."""
    configured = os.environ.get("FLEETBOARD_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "fleetboard"


@functools.cache
def find_python312() -> str | None:
    """A working CPython 3.12, or None.

    Tried in order: $FLEETBOARD_PYTHON312, `python3.12` on PATH (a pyenv shim there may
    refuse to run, so each candidate is run once), `pyenv prefix 3.12`, and
    `$PYENV_ROOT/versions/3.12*` (default ~/.pyenv).
    """
    for candidate in _python312_candidates():
        if _is_python312(candidate):
            return candidate
    return None


def _python312_candidates() -> Iterator[str]:
    explicit = os.environ.get("FLEETBOARD_PYTHON312")
    if explicit:
        yield explicit
    on_path = shutil.which(f"python{PYTHON_VERSION}")
    if on_path:
        yield on_path
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    pyenv = shutil.which("pyenv") or str(pyenv_root / "bin" / "pyenv")
    if Path(pyenv).is_file():
        prefix = _run_quietly([pyenv, "prefix", PYTHON_VERSION])
        if prefix:
            yield str(Path(prefix.splitlines()[0]) / "bin" / f"python{PYTHON_VERSION}")
    versions = (pyenv_root / "versions").glob(f"{PYTHON_VERSION}*/bin/python{PYTHON_VERSION}")
    yield from sorted(map(str, versions), key=_version_key, reverse=True)


def _version_key(path: str) -> tuple[int, ...]:
    name = Path(path).parents[1].name  # .../versions/3.12.1/bin/python3.12
    return tuple(int(p) if p.isdigit() else -1 for p in name.split("."))


def _is_python312(python: str) -> bool:
    out = _run_quietly([python, "-I", "-c", "import sys; print(sys.version_info[:2])"])
    return out == str((3, 12))


def _run_quietly(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def pip_command(python: str | None) -> list[str]:
    """`python -m pip` for the interpreter that has pip: CPython 3.12 first, then this one."""
    for candidate in (python, sys.executable):
        if candidate and _run_quietly([candidate, "-I", "-m", "pip", "--version"]) is not None:
            return [candidate, "-I", "-m", "pip"]
    raise BundlingError(
        "no pip to install lambdas/requirements.lock with: install CPython 3.12 "
        f"(`pyenv install 3.12`), or pip into this interpreter ({sys.executable} -m ensurepip)"
    )


def _say(message: str) -> None:
    # CDK reports bundling on stderr too ("Bundling asset ..."); stdout may carry a template.
    sys.stderr.write(f"fleetboard bundle: {message}\n")


# --------------------------------------------------------------------------- build


def build_bundle(out: Path, config_path: Path) -> BundleStats:
    """Build the asset into `out` (empty or absent): wheels, package, site, config, .pyc."""
    python = find_python312()
    if python is None:
        _say(
            "WARNING: no CPython 3.12 found (set FLEETBOARD_PYTHON312 or `pyenv install "
            "3.12`); the bundle ships without .pyc, so every cold start compiles its imports"
        )
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    _pip_install(out, python)
    pip_s = time.monotonic() - started
    for name, source in bundle_inputs(config_path):
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    # Console scripts carry this machine's interpreter path in their #! line: dead weight.
    shutil.rmtree(out / "bin", ignore_errors=True)
    _prune(out)
    started = time.monotonic()
    if python is not None:
        _compile(out, python)
    compile_s = time.monotonic() - started
    _remove_foreign_bytecode(out)
    files = [p for p in out.rglob("*") if p.is_file()]
    stats = BundleStats(
        files=len(files),
        bytes=sum(p.stat().st_size for p in files),
        pip_s=pip_s,
        compile_s=compile_s,
        python=python,
    )
    _say(
        f"{stats.files} files, {stats.bytes / 1e6:.1f} MB unzipped; "
        f"pip {stats.pip_s:.1f} s, compileall {stats.compile_s:.1f} s"
    )
    return stats


def _prune(out: Path) -> None:
    """Remove from the installed wheels what no pass reads (PRUNED_SUFFIXES, PRUNED_FOLDERS);
    the fleetboard package is copied as is."""
    for path in sorted(out.rglob("*"), reverse=True):  # a folder's files before the folder
        if path.relative_to(out).parts[0] == "fleetboard":
            continue
        if path.is_dir() and path.name in PRUNED_FOLDERS:
            shutil.rmtree(path)
        elif path.is_file() and path.suffix in PRUNED_SUFFIXES:
            path.unlink()


def _pip_install(out: Path, python: str | None) -> None:
    """Install the lock's wheels into `out`, from a wheelhouse downloaded once per lock."""
    pip = pip_command(python)
    wheels = _wheelhouse(pip)
    _pip(
        [
            *pip,
            "install",
            *_wheel_selection(),
            # Only the wheelhouse: a cached synth makes no network call.
            "--no-index",
            f"--find-links={wheels}",
            # pip would compile with its own interpreter and timestamps; _compile does it.
            "--no-compile",
            f"--target={out}",
        ],
        "install",
    )


def _wheel_selection() -> list[str]:
    """Wheels for Lambda's interpreter and CPU, whatever this machine runs; `--no-deps`
    because the lock is the whole closure (a test checks it), so nothing unpinned slips in.
    """
    return [
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        f"--platform={PLATFORM}",
        "--only-binary=:all:",
        f"--python-version={PYTHON_VERSION}",
        "--implementation=cp",
        "--no-deps",
        "--requirement",
        str(LOCK),
    ]


def _wheelhouse(pip: list[str]) -> Path:
    """`$FLEETBOARD_CACHE/wheels/<lock+platform hash>/`: downloaded on first use only.

    pip's own cache still asks the index about every pin (~4 s); a folder of the exact
    wheels makes a repeated synth fast and offline.
    """
    key = hashlib.sha256(LOCK.read_bytes() + f"{PLATFORM} {PYTHON_VERSION}".encode())
    house = cache_dir() / "wheels" / key.hexdigest()[:16]
    if house.is_dir():
        return house
    house.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=house.parent, prefix=f".{house.name}-"))
    try:
        download = [*pip, "download", *_wheel_selection(), f"--dest={partial}"]
        _pip([*download, f"--cache-dir={cache_dir() / 'pip'}"], "download")
        partial.rename(house)  # atomic: a concurrent synth sees all wheels or none
    except OSError:
        if not house.is_dir():  # lost a race to another synth: theirs is as good
            raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return house


def _pip(argv: list[str], verb: str) -> None:
    env = {**os.environ, "PIP_ROOT_USER_ACTION": "ignore"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise BundlingError(
            f"pip could not {verb} {LOCK.relative_to(ROOT)} as CPython {PYTHON_VERSION} "
            f"{PLATFORM} wheels (is every pin published as a wheel for that platform, and "
            f"is the package index reachable?):\n{done.stdout}{done.stderr}"
        )


def _compile(out: Path, python: str) -> None:
    # unchecked-hash: the zip's file times are not the source's, so timestamp-checked .pyc
    # would be stale on Lambda, and /var/task is read-only, so Python could not rewrite
    # them; each cold start would compile every import. The asset is rebuilt whole whenever
    # a source changes, so the unchecked .pyc never outlive their source.
    argv = [
        python,
        "-I",
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        "--invalidation-mode",
        "unchecked-hash",
        "-s",
        str(out),
        "-p",
        TASK_ROOT,
        str(out),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BundlingError(f"compileall failed in {out}:\n{done.stdout}{done.stderr}")


def _remove_foreign_bytecode(out: Path) -> None:
    """Drop .pyc built for any interpreter but CPython 3.12 (some wheels ship their own)."""
    tag = f".cpython-{PYTHON_VERSION.replace('.', '')}."
    for pyc in out.rglob("*.pyc"):
        if tag not in pyc.name:
            pyc.unlink()


# --------------------------------------------------------------------------- CDK


@jsii.implements(cdk.ILocalBundling)
class LocalBundler:
    """CDK's local bundling hook: runs `build(output_dir)` here, so synth needs no Docker."""

    def __init__(self, build: Callable[[Path], object]) -> None:
        self._build = build

    def try_bundle(self, output_dir: str, *_args: Any, **_options: Any) -> bool:
        self._build(Path(output_dir))
        return True


def local_asset(
    source: Path, *, asset_hash: str, runtime: lambda_.Runtime, build: Callable[[Path], object]
) -> lambda_.Code:
    """A Lambda code asset that `build(out)` builds on this machine, named by `asset_hash`.

    How both functions' assets are made (the collector's below, the sign-in function's in
    edge.py); each differs only in its source folder, hash and build. The hash is known
    before any build, so CDK skips bundling when `cdk.out` already holds the asset; the
    runtime's image is only named, since the local bundler always builds.
    """
    return lambda_.Code.from_asset(
        str(source),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=asset_hash,
        bundling=cdk.BundlingOptions(
            image=runtime.bundling_image,  # never pulled: LocalBundler always bundles
            local=LocalBundler(build),
        ),
    )


def collector_code(config_path: Path) -> lambda_.Code:
    """The collector's code asset, named by a hash of its inputs (see `asset_hash`).

    A custom hash rather than SOURCE or OUTPUT: SOURCE would fingerprint the whole repository
    root (.venv, .git) and miss fleet.toml when it lives elsewhere; OUTPUT needs a full
    build before the hash is known. With the hash known up front, CDK also skips bundling
    when `cdk.out` already holds this very asset.
    """
    config_path = config_path.resolve()
    return local_asset(
        ROOT,
        asset_hash=asset_hash(config_path),
        runtime=RUNTIME,
        build=lambda out: build_bundle(out, config_path),
    )

"""The collector's Lambda asset, built for real through CDK's local bundling (pip runs against
the package index once; the wheels are cached): what it holds, and what its hash covers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fleet.example.toml"
LOCK = ROOT / "lambdas" / "requirements.lock"
#: What the Lambda Python runtime provides, so the lock may lean on it without pinning it.
RUNTIME_PROVIDED = {
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "python-dateutil",
    "six",
    "urllib3",
}
#: The pure-Python SDK the runtime puts on sys.path, taken from this venv for the smoke test.
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "dateutil", "six", "jmespath")
#: Environment markers of the Lambda interpreter, for the lock's closure check.
LAMBDA_MARKERS = {
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "extra": "",
}


def locked() -> dict[str, str]:
    """The lock's pins: normalized name -> version."""
    from packaging.utils import canonicalize_name

    pins = {}
    for line in LOCK.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name, _, version = requirement.partition("==")
            pins[canonicalize_name(name)] = version
    return pins


def python312_or_skip() -> str:
    """CPython 3.12 for the bytecode checks; outside CI its absence skips them, in CI fails."""
    from infra.bundling import find_python312

    python = find_python312()
    if python is None:
        if os.environ.get("CI") != "true":
            pytest.skip("no CPython 3.12 here (FLEETBOARD_PYTHON312, pyenv): no .pyc to check")
        pytest.fail("CI must have CPython 3.12: the bundle ships precompiled for it")
    return python


# --------------------------------------------------------------------------- the asset


def code_key(template: dict[str, Any]) -> str:
    """The S3 key of the collector's code asset: `<asset hash>.zip`."""
    [fn] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    key: str = fn["Properties"]["Code"]["S3Key"]
    return key


@pytest.fixture(scope="session")
def asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The asset directory `cdk synth` writes for the collector, bundled for real."""
    import aws_cdk as cdk

    from fleetboard.config import load
    from infra.app import build

    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(outdir=str(outdir), context={"aws:cdk:bundling-stacks": ["fleetboard-collector"]})
    build(app, load(EXAMPLE), EXAMPLE)
    app.synth()
    template = json.loads((outdir / "fleetboard-collector.template.json").read_text())
    return outdir / f"asset.{code_key(template).removesuffix('.zip')}"


def test_the_asset_is_named_by_its_inputs_not_by_the_bundled_bytes(
    asset: Path, collector_template: Any
) -> None:
    # conftest's synth skips bundling; the key is the same, so it never depends on the
    # bundle's bytes (pip and marshal output vary from build to build, the inputs do not).
    assert asset.is_dir()
    assert code_key(collector_template.to_json()) == f"{asset.name.removeprefix('asset.')}.zip"


def test_native_wheels_are_manylinux_x86_64_builds_for_cpython_312(asset: Path) -> None:
    assert (asset / "rpds" / "rpds.cpython-312-x86_64-linux-gnu.so").is_file()
    [wheel] = asset.glob("rpds_py-*.dist-info/WHEEL")
    tags = [line.removeprefix("Tag: ") for line in wheel.read_text().splitlines() if "Tag:" in line]
    assert tags and all(
        t.startswith("cp312-cp312-manylinux") and t.endswith("_x86_64") for t in tags
    )


def test_the_bundle_ships_exactly_the_locked_packages(asset: Path) -> None:
    from packaging.utils import canonicalize_name

    shipped = {}
    for dist_info in asset.glob("*.dist-info"):
        meta = metadata.PathDistribution(dist_info)
        shipped[canonicalize_name(meta.metadata["Name"])] = meta.version
    assert shipped == locked()  # no boto3/botocore: the runtime's


def test_the_package_ships_without_the_demo_and_the_benchmark(asset: Path) -> None:
    package = asset / "fleetboard"
    assert (package / "handler.py").is_file()
    assert (package / "schema" / "fleet.schema.json").is_file()
    assert not (package / "demo").exists()
    from infra.bundling import BENCHMARK

    # the benchmark's modules (the front end, its simulated fleet, its measuring, its sharded
    # pass): none ships, and every one of them is named in the list that keeps them out
    assert not list(package.glob("bench*"))
    sources = {p.name for p in (ROOT / "lambdas" / "fleetboard").glob("bench*.py")}
    assert sources == BENCHMARK


def test_the_wheels_ship_without_sources_stubs_or_test_suites(asset: Path) -> None:
    # what only a compiler, a type checker or a package's own tests read; the smoke test
    # below imports the whole bundle, web3 and cryptography too, from what is left
    from infra.bundling import PRUNED_SUFFIXES

    shipped = [p for p in asset.rglob("*") if p.relative_to(asset).parts[0] != "fleetboard"]
    assert [p for p in shipped if p.is_file() and p.suffix in PRUNED_SUFFIXES] == []
    assert [p for p in shipped if p.is_dir() and p.name == "tests"] == []
    assert (asset / "cytoolz").is_dir() and (asset / "regex").is_dir()  # the packages stay


def test_the_page_templates_and_assets_ship_inside_the_package(asset: Path) -> None:
    site = asset / "fleetboard" / "site"  # render.site_dir() looks here first
    assert (site / "templates" / "index.html.j2").is_file()
    assert {p.name for p in (site / "static").iterdir()} >= {"board.css", "board.js"}


def test_fleet_toml_sits_at_the_asset_root(asset: Path) -> None:
    assert (asset / "fleet.toml").read_bytes() == EXAMPLE.read_bytes()


def test_every_module_is_precompiled_for_cpython_312_without_source_checks(asset: Path) -> None:
    python312_or_skip()
    missing, checked = [], []
    for source in asset.rglob("*.py"):
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-312.pyc"
        if not pyc.is_file():
            missing.append(str(source.relative_to(asset)))
            continue
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        if flags != 0b01:  # hash-based, source not checked (PEP 552)
            checked.append(str(pyc.relative_to(asset)))
    assert (missing, checked) == ([], [])


def test_no_bytecode_for_another_interpreter_ships(asset: Path) -> None:
    assert [p for p in asset.rglob("*.pyc") if ".cpython-312." not in p.name] == []


SMOKE = """
import importlib, importlib._bootstrap_external as external, json, pkgutil, sys, time
sys.path[:0] = sys.argv[1:3]  # the task root first, then the runtime's SDK, as on Lambda
compiled = []  # sources Python had to compile: a usable .pyc skips source_to_code
source_to_code = external.SourceLoader.source_to_code
def spy(self, data, path, *args, **kwargs):
    compiled.append(path)
    return source_to_code(self, data, path, *args, **kwargs)
external.SourceLoader.source_to_code = spy
started = time.perf_counter()
import fleetboard.handler
cold_s = time.perf_counter() - started
started = time.perf_counter()
from web3 import HTTPProvider  # sources/chain.py, and handler.py warms it when [chain] is set
web3_s = time.perf_counter() - started
import fleetboard
names = [m.name for m in pkgutil.walk_packages(fleetboard.__path__, "fleetboard.")]
for name in names:
    if not name.endswith("__main__"):
        importlib.import_module(name)
from cryptography import x509  # sources/net.py, for certificates that fail verification
from fleetboard import collect, config, render
loaded = config.load("fleet.toml")
print(json.dumps({
    "cold_s": cold_s,
    "web3_s": web3_s,
    "environments": len(loaded.inventory.environments),
    "site": str(render.site_dir()),
    "compiled": [p for p in compiled if p.startswith(sys.argv[1])],
    "foreign": sorted(m for m in sys.modules if m.split(".")[0] in ("moto", "trustme")),
}))
"""


@pytest.fixture(scope="session")
def smoke(asset: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Import the whole bundle with CPython 3.12 the way Lambda would, and report."""
    import importlib.util

    python = python312_or_skip()
    runtime = tmp_path_factory.mktemp("lambda-runtime")
    for name in RUNTIME_MODULES:  # pure Python: the same files serve 3.11 and 3.12
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, name
        origin = Path(spec.origin)
        target = origin.parent if origin.name == "__init__.py" else origin
        (runtime / target.name).symlink_to(target)
    done = subprocess.run(
        [python, "-I", "-B", "-c", SMOKE, str(asset), str(runtime)],
        cwd=asset,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    sys.stderr.write(
        f"bundle cold import of fleetboard.handler: {result['cold_s']:.2f} s, "
        f"then web3: {result['web3_s']:.2f} s\n"
    )
    return result


def test_the_bundle_imports_and_loads_its_config_on_cpython_312(smoke: dict[str, Any]) -> None:
    assert smoke["environments"] == 4
    assert smoke["foreign"] == []  # nothing reaches for the demo's moto or trustme


def test_the_bundle_renders_from_its_own_site_folder(asset: Path, smoke: dict[str, Any]) -> None:
    assert smoke["site"] == str(asset / "fleetboard" / "site")


def test_importing_the_bundle_compiles_nothing(smoke: dict[str, Any]) -> None:
    python312_or_skip()
    assert smoke["compiled"] == []  # every module came from its shipped .pyc


# --------------------------------------------------------------------------- the lock


def test_the_lock_is_closed_under_dependencies_for_the_lambda_interpreter() -> None:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = locked()
    missing = []
    for name in pins:
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate(LAMBDA_MARKERS):
                continue
            needed = canonicalize_name(requirement.name)
            if needed not in pins and needed not in RUNTIME_PROVIDED:
                missing.append(f"{name} needs {requirement}")
    assert missing == []


def test_the_lock_pins_every_runtime_dependency_but_boto3() -> None:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    declared = {canonicalize_name(Requirement(r).name) for r in metadata.requires("fleetboard") or []
                if "extra ==" not in r}  # fmt: skip
    assert declared - {"boto3"} <= set(locked())


def test_the_lock_pins_what_the_dev_venv_runs() -> None:
    assert {name: metadata.version(name) for name in locked()} == locked()


# --------------------------------------------------------------------------- the hash


def _copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attr: str) -> Path:
    """Point infra.bundling's `attr` (PACKAGE, SITE or LOCK) at a copy under tmp_path."""
    from infra import bundling

    source: Path = getattr(bundling, attr)
    copy = tmp_path / source.name
    if source.is_dir():
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        shutil.copyfile(source, copy)
    monkeypatch.setattr(bundling, attr, copy)
    return copy


def _append(path: Path) -> None:
    with path.open("a") as handle:
        handle.write("\n")


EDITS: dict[str, tuple[str | None, Callable[[Path], Path]]] = {
    # input -> (infra.bundling attribute to copy, the file in the copy to change)
    "handler.py": ("PACKAGE", lambda copy: copy / "handler.py"),
    "a template": ("SITE", lambda copy: copy / "templates" / "index.html.j2"),
    "requirements.lock": ("LOCK", lambda copy: copy),
    "fleet.toml": (None, lambda config: config),
}


@pytest.mark.parametrize("changed", list(EDITS))
def test_the_asset_hash_changes_when_an_input_changes(
    changed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.bundling import asset_hash

    config = tmp_path / "fleet.toml"
    shutil.copyfile(EXAMPLE, config)
    attr, target = EDITS[changed]
    copy = _copy(tmp_path, monkeypatch, attr) if attr else config
    before = asset_hash(config)
    _append(target(copy))
    assert asset_hash(config) != before


def test_the_asset_hash_ignores_what_is_left_out_of_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.bundling import asset_hash

    package = _copy(tmp_path, monkeypatch, "PACKAGE")
    before = asset_hash(EXAMPLE)
    _append(package / "bench.py")
    _append(package / "demo" / "run.py")
    (package / "__pycache__").mkdir(exist_ok=True)
    (package / "__pycache__" / "collect.cpython-311.pyc").write_bytes(b"stale")
    assert asset_hash(EXAMPLE) == before


def test_a_ca_bundle_beside_fleet_toml_ships_at_the_same_relative_path(tmp_path: Path) -> None:
    from infra.bundling import bundle_inputs

    config = tmp_path / "fleet.toml"
    config.write_text(
        EXAMPLE.read_text().replace("[probe]\n", '[probe]\nca_bundle = "certs/ca.pem"\n')
    )
    assert ("certs/ca.pem", tmp_path / "certs" / "ca.pem") in bundle_inputs(config)


def test_a_ca_bundle_outside_the_config_folder_stops_synth_with_a_message(tmp_path: Path) -> None:
    from fleetboard.config import ConfigError
    from infra.bundling import bundle_inputs

    config = tmp_path / "fleet.toml"
    config.write_text(
        EXAMPLE.read_text().replace("[probe]\n", '[probe]\nca_bundle = "../ca.pem"\n')
    )
    with pytest.raises(ConfigError) as caught:
        bundle_inputs(config)
    assert caught.value.problems == [
        f"{config}: probe.ca_bundle: '../ca.pem' cannot be bundled for Lambda; use a path "
        "relative to fleet.toml, inside its folder"
    ]

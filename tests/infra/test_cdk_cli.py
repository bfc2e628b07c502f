"""The app as an infra owner runs it: the pinned CDK CLI, offline; cdk-nag; cfn-lint."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import cfn_lint

ROOT = Path(__file__).resolve().parents[2]
CDK = ROOT / "node_modules" / ".bin" / "cdk"
EXAMPLE = ROOT / "fleet.example.toml"

if not CDK.exists():  # installed by scripts/test.sh (npm ci); CI must have it
    if os.environ.get("CI") == "true":
        raise RuntimeError("node_modules/.bin/cdk is missing: run `npm ci` (scripts/test.sh does)")
    pytest.skip("the CDK CLI is not installed (npm ci)", allow_module_level=True)


def cdk(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with no AWS credentials, no metadata service and no network to reach."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ["HOME"],  # where pyenv's Python 3.12 is found for the bundle
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "FLEETBOARD_CACHE": os.environ.get(
            "FLEETBOARD_CACHE", str(Path.home() / ".cache/fleetboard")
        ),
        "JSII_RUNTIME_PACKAGE_CACHE_ROOT": os.environ.get(
            "JSII_RUNTIME_PACKAGE_CACHE_ROOT", str(Path.home() / ".cache/fleetboard/jsii")
        ),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_DISABLE_VERSION_CHECK": "1",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return subprocess.run(
        [str(CDK), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("cdk.out")
    done = cdk("synth", "--quiet", "-o", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    return out, done.stdout + done.stderr


def test_cdk_synth_works_offline_from_the_repo_with_the_pinned_cli(
    synthesized: tuple[Path, str],
) -> None:
    out, _ = synthesized
    assert {p.name for p in out.glob("*.template.json")} == {
        "fleetboard-site.template.json",
        "fleetboard-collector.template.json",
    }
    bundle = json.loads((out / "fleetboard-collector.assets.json").read_text())
    assert bundle["files"], "the collector's code asset was not bundled"


def test_synth_prints_no_construct_warning(synthesized: tuple[Path, str]) -> None:
    _, output = synthesized
    assert "WARNING" not in output, output


def test_cdk_nag_runs_on_every_synth_and_finds_nothing_unacknowledged(
    synthesized: tuple[Path, str],
) -> None:
    out, _ = synthesized
    report = json.loads((out / "validation-report.json").read_text())
    plugins = report["pluginReports"]
    assert plugins, "cdk-nag did not run"
    violations = [v["ruleName"] for p in plugins for v in p["violations"]]
    assert violations == []
    reasons = [v for p in plugins for v in p.get("suppressedViolations", [])]
    assert reasons, "expected the documented acknowledgments"


def test_cfn_lint_finds_nothing_in_the_templates(synthesized: tuple[Path, str]) -> None:
    out, _ = synthesized
    done = cfn_lint(out)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_config_mistake_stops_synth_with_the_validators_message(tmp_path: Path) -> None:
    bad = tmp_path / "fleet.toml"
    bad.write_text(EXAMPLE.read_text().replace('region = "us-east-1"', 'region = "us-east"'))
    done = cdk("synth", "--quiet", "-o", str(tmp_path / "out"), "-c", f"config={bad}")
    assert done.returncode != 0
    assert f'{bad}: fleet.region: "us-east" is not an AWS region such as "us-east-1"' in done.stderr

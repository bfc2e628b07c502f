"""Synthesize the real CDK app (fleet.example.toml) once per session, without bundling."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

# jsii prints a banner on Node 20; the cache keeps aws-cdk-lib unpacked between runs.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fleet.example.toml"
#: The feature flags `cdk synth` reads from cdk.json: tests build with the same ones.
CDK_CONTEXT: dict[str, object] = json.loads((ROOT / "cdk.json").read_text())["context"]


def synth(  # type: ignore[no-untyped-def]
    config: Path = EXAMPLE,
    *,
    bundle: bool | list[str] = False,
    outdir: Path | None = None,
    environ: dict[str, str] | None = None,
):
    """The app's stacks built from `config`, as app.py builds them.

    `bundle`: build every asset, none, or the named stacks' only; `environ` stands in for
    os.environ (the edge secrets).
    """
    import aws_cdk as cdk

    from fleetboard.config import load
    from infra.app import build

    if bundle is True:
        context = dict(CDK_CONTEXT)
    else:
        context = {**CDK_CONTEXT, "aws:cdk:bundling-stacks": list(bundle or [])}
    app = cdk.App(context=context, outdir=str(outdir) if outdir else None)
    return app, build(app, load(config), config, environ if environ is not None else {})


@pytest.fixture(scope="session")
def stacks() -> Iterator[object]:
    _, built = synth()
    yield built


@pytest.fixture(scope="session")
def site_template(stacks: object):  # type: ignore[no-untyped-def]
    from aws_cdk.assertions import Template

    return Template.from_stack(stacks.site)  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def collector_template(stacks: object):  # type: ignore[no-untyped-def]
    from aws_cdk.assertions import Template

    return Template.from_stack(stacks.collector)  # type: ignore[attr-defined]


def cfn_lint(out: Path) -> subprocess.CompletedProcess[str]:
    """cfn-lint over every template in a cloud assembly. W3005 (a redundant DependsOn) is
    CDK's own output, not ours to change."""
    templates = sorted(str(p) for p in out.glob("*.template.json"))
    return subprocess.run(
        [str(ROOT / ".venv/bin/cfn-lint"), "--ignore-checks", "W3005", "--", *templates],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

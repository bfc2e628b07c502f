"""Synthesize the real CDK app (fleet.example.toml) once per session, without bundling."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# jsii prints a banner on Node 20; the cache keeps aws-cdk-lib unpacked between runs.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fleet.example.toml"
#: The feature flags `cdk synth` reads from cdk.json: tests build with the same ones.
CDK_CONTEXT: dict[str, object] = json.loads((ROOT / "cdk.json").read_text())["context"]


def synth(config: Path = EXAMPLE, *, bundle: bool = False, outdir: Path | None = None):  # type: ignore[no-untyped-def]
    """The app's stacks built from `config`, as app.py builds them."""
    import aws_cdk as cdk

    from fleetboard.config import load
    from infra.app import build

    context = dict(CDK_CONTEXT) if bundle else {**CDK_CONTEXT, "aws:cdk:bundling-stacks": []}
    app = cdk.App(context=context, outdir=str(outdir) if outdir else None)
    return app, build(app, load(config), config)


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

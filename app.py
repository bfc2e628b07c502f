"""The CDK app: reads fleet.toml, builds the site and collector stacks. Nothing else.

    ./scripts/cdk.sh synth                 # fleet.toml, or fleet.example.toml if absent
    ./scripts/cdk.sh deploy --all -c config=path/to/fleet.toml

A config with a mistake stops synth with the same messages `fleetboard validate` prints;
so does any cdk-nag AwsSolutions finding without an acknowledgment and its reason.
"""

from __future__ import annotations

import sys
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from fleetboard.config import ConfigError, load
from infra.app import build

ROOT = Path(__file__).resolve().parent


def config_path(app: cdk.App) -> Path:
    asked = app.node.try_get_context("config")
    if asked:
        return Path(asked)
    own = ROOT / "fleet.toml"
    return own if own.is_file() else ROOT / "fleet.example.toml"


def main() -> None:
    app = cdk.App()
    path = config_path(app)
    try:
        build(app, load(path), path)
    except ConfigError as exc:  # the same messages `fleetboard validate` prints
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        sys.exit(2)
    # Every synth and deploy is checked: an unacknowledged AwsSolutions finding stops it.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()


if __name__ == "__main__":
    main()

"""Which stacks exist and how they are wired: the one place app.py and the tests share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk

from fleetboard.config import LoadedConfig
from infra.collector import CollectorStack
from infra.site import SiteStack


@dataclass(frozen=True)
class Stacks:
    site: SiteStack
    collector: CollectorStack


def build(app: cdk.App, loaded: LoadedConfig, config_path: Path) -> Stacks:
    """The site stack (bucket, distribution) and the collector stack (function, schedule).

    Region: the fleet's (the collector reads EC2 there); account: the CLI's credentials.
    """
    env = cdk.Environment(region=loaded.inventory.aws.region)
    site = SiteStack(app, "fleetboard-site", deploy=loaded.deploy, env=env)
    collector = CollectorStack(
        app,
        "fleetboard-collector",
        loaded=loaded,
        config_path=config_path,
        bucket=site.bucket,
        env=env,
    )
    return Stacks(site=site, collector=collector)

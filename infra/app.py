"""Which stacks exist and how they are wired: the one place app.py and the tests share."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk

from fleetboard.config import LoadedConfig
from infra.auth import AuthStack
from infra.collector import CollectorStack
from infra.edge import EDGE_REGION, EdgeSecrets, EdgeStack
from infra.site import SiteStack


@dataclass(frozen=True)
class Stacks:
    site: SiteStack
    collector: CollectorStack
    auth: AuthStack | None = None  # with [deploy.auth] (stage 1 of sign-in, decision 0009)
    edge: EdgeStack | None = None  # once [deploy.auth] has the pool's ids (stage 2)


def build(
    app: cdk.App,
    loaded: LoadedConfig,
    config_path: Path,
    environ: Mapping[str, str] | None = None,
) -> Stacks:
    """The site stack (bucket, distribution), the collector stack (function, schedule), and
    with [deploy.auth] the auth stack (user pool) and, in stage 2, the edge stack.

    Region: the fleet's (the collector reads EC2 there), us-east-1 for the edge function;
    account: the CLI's credentials. `environ` (default os.environ) holds the edge secrets.
    Without the edge function every behaviour of the distribution answers 403.
    """
    region = loaded.inventory.aws.region
    env = cdk.Environment(region=region)
    auth = loaded.deploy.auth
    edge = None
    if auth is not None and auth.ready:
        secrets = EdgeSecrets.from_environ(os.environ if environ is None else environ)
        edge = EdgeStack(
            app,
            "fleetboard-edge",
            auth=auth,
            pool_region=region,
            secrets=secrets,
            env=cdk.Environment(region=EDGE_REGION),
        )
    site = SiteStack(
        app,
        "fleetboard-site",
        deploy=loaded.deploy,
        edge_lambdas=[edge.edge_lambda] if edge else (),
        env=env,
    )
    auth_stack = None
    if auth is not None:
        # The callback host: the one configured, else the custom domain; and always the
        # distribution's own *.cloudfront.net name, known to CloudFormation by then.
        named = auth.callback_host or loaded.deploy.domain_name
        hosts = [*([named] if named else []), site.distribution.distribution_domain_name]
        auth_stack = AuthStack(app, "fleetboard-auth", settings=auth, board_hosts=hosts, env=env)
    collector = CollectorStack(
        app,
        "fleetboard-collector",
        loaded=loaded,
        config_path=config_path,
        bucket=site.bucket,
        env=env,
    )
    return Stacks(site=site, collector=collector, auth=auth_stack, edge=edge)

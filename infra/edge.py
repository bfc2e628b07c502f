"""The edge stack: the sign-in function (lambdas/edge_auth) as Lambda@Edge in us-east-1.

Lambda@Edge has no environment variables, so its config.json is written into the asset at
synth, secrets included (docs/decisions/0009): they come from the environment and live only
inside the asset zip, never in a template, an output or a log.

    secrets = EdgeSecrets.from_environ(os.environ)  # ConfigError naming a missing variable
    edge = EdgeStack(app, "fleetboard-edge", auth=deploy.auth, pool_region=region,
                     secrets=secrets, env=cdk.Environment(region="us-east-1"))
    edge.edge_lambda  # for SiteStack(edge_lambdas=[...])
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from fleetboard.config import ConfigError
from fleetboard.inventory import AuthSettings
from infra.auth import CALLBACK_PATH, COOKIE_DAYS, SIGN_OUT_PATH, hosted_ui_domain
from infra.bundling import local_asset
from infra.nag import acknowledge

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "lambdas" / "edge_auth"
#: Lambda@Edge functions live in us-east-1 and are replicated from there.
EDGE_REGION = "us-east-1"
RUNTIME = lambda_.Runtime.NODEJS_22_X
FUNCTION_NAME = "fleetboard-edge-auth"
#: Viewer-request functions may run at most 5 s (and take at most 1 MB zipped).
TIMEOUT = cdk.Duration.seconds(5)

#: The names of the variables the secrets come from (not secrets themselves).
CLIENT_SECRET_ENV = "FLEETBOARD_EDGE_CLIENT_SECRET"  # noqa: S105
NONCE_SECRET_ENV = "FLEETBOARD_EDGE_NONCE_SECRET"  # noqa: S105
MIN_NONCE_SECRET = 32  # lambdas/edge_auth/config.js MIN_SECRET_LENGTH


@dataclass(frozen=True, slots=True, repr=False)
class EdgeSecrets:
    """The two values config.json needs that must stay out of the repo and the templates."""

    client_secret: str
    nonce_secret: str

    def __repr__(self) -> str:  # never print a secret by accident
        return "EdgeSecrets(<hidden>)"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> EdgeSecrets:
        """Both from the environment, or ConfigError naming each variable that is wrong."""
        client = environ.get(CLIENT_SECRET_ENV, "").strip()
        nonce = environ.get(NONCE_SECRET_ENV, "").strip()
        problems = []
        if not client:
            problems.append(
                f"{CLIENT_SECRET_ENV} is not set: stage 2 of sign-in bakes the app client's "
                "secret into the edge function; export it from `aws cognito-idp "
                "describe-user-pool-client --user-pool-id <UserPoolId> --client-id <ClientId> "
                "--query UserPoolClient.ClientSecret --output text` (README, Deploy to AWS)"
            )
        if len(nonce) < MIN_NONCE_SECRET:
            problems.append(
                f"{NONCE_SECRET_ENV} is {'too short' if nonce else 'not set'}: "
                f"{MIN_NONCE_SECRET} or more random characters, generated once (`openssl rand "
                "-hex 32`) and kept, so every synth builds the same asset (README, Deploy to AWS)"
            )
        if problems:
            raise ConfigError(problems)
        return cls(client_secret=client, nonce_secret=nonce)


def edge_config(auth: AuthSettings, *, pool_region: str, secrets: EdgeSecrets) -> dict[str, Any]:
    """config.json for lambdas/edge_auth/config.js, every key it knows."""
    if not auth.ready:
        raise ValueError("[deploy.auth] needs user_pool_id and client_id for the edge function")
    return {
        "region": pool_region,
        "userPoolId": auth.user_pool_id,
        "userPoolAppId": auth.client_id,
        "userPoolAppSecret": secrets.client_secret,
        "userPoolDomain": hosted_ui_domain(auth, pool_region),
        "requiredGroup": auth.group,
        "cookieExpirationDays": COOKIE_DAYS,
        "parseAuthPath": CALLBACK_PATH,
        "logoutPath": SIGN_OUT_PATH,
        "nonceSigningSecret": secrets.nonce_secret,
    }


def _config_bytes(config: Mapping[str, Any]) -> bytes:
    return (json.dumps(config, indent=2, sort_keys=True) + "\n").encode()


def _build_inputs() -> list[Path]:
    """What build.js bundles: the handler's own modules, its manifest and lockfile."""
    files = sorted(p for p in SOURCE.glob("*.js"))
    return [*files, SOURCE / "package.json", SOURCE / "package-lock.json"]


def edge_asset_hash(config: Mapping[str, Any]) -> str:
    """sha256 of the sources, the lockfile, config.json and this recipe.

    The secrets are hashed in, so a changed secret ships a new asset; the same secrets give
    the same hash on every synth. A sha256 of them reveals nothing usable.
    """
    digest = hashlib.sha256()
    for path in [*_build_inputs(), Path(__file__)]:
        data = path.read_bytes()
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    digest.update(_config_bytes(config))
    return digest.hexdigest()


def build_edge_bundle(out: Path, config: Mapping[str, Any]) -> None:
    """`node build.js OUT` (index.js, esbuild), then OUT/config.json. Raises with the fix."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("the edge function is built with Node.js: install Node 22")
    if not (SOURCE / "node_modules" / "esbuild").is_dir():
        raise RuntimeError(
            "lambdas/edge_auth has no node_modules: run `npm ci --prefix lambdas/edge_auth`"
        )
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [node, str(SOURCE / "build.js"), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"node build.js failed:\n{done.stdout}{done.stderr}")
    target = out / "config.json"
    target.write_bytes(_config_bytes(config))
    target.chmod(0o644)  # Lambda reads the unzipped files as another user
    sys.stderr.write("fleetboard edge bundle: index.js and config.json (secrets not shown)\n")


def edge_code(config: Mapping[str, Any]) -> lambda_.Code:
    """The function's asset: bundled index.js plus config.json, named by edge_asset_hash."""
    config = dict(config)  # a copy: the bundle is built from the very config hashed
    return local_asset(
        SOURCE,
        asset_hash=edge_asset_hash(config),
        runtime=RUNTIME,
        build=lambda out: build_edge_bundle(out, config),
    )


class SignInFunction(Construct):
    """The viewer-request function, its published version and its role (logs only)."""

    def __init__(self, scope: Construct, id: str, *, config: Mapping[str, Any]) -> None:
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        # Lambda@Edge writes its logs in the region that served the request, to
        # /aws/lambda/us-east-1.<name>: the basic execution actions, on that group only.
        log_groups = stack.format_arn(
            service="logs",
            region="*",
            resource="log-group",
            resource_name=f"/aws/lambda/{EDGE_REGION}.{FUNCTION_NAME}:*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        self.role = iam.Role(
            self,
            "Role",
            description="fleetboard sign-in at the edge: writes its own logs, nothing else",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("lambda.amazonaws.com"),
                iam.ServicePrincipal("edgelambda.amazonaws.com"),
            ),
            inline_policies={
                "Logs": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            sid="WriteOwnLogsInEveryRegion",
                            actions=[
                                "logs:CreateLogGroup",
                                "logs:CreateLogStream",
                                "logs:PutLogEvents",
                            ],
                            resources=[log_groups],
                        )
                    ]
                )
            },
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=FUNCTION_NAME,
            description="fleetboard: Cognito sign-in in front of every request (viewer-request)",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.X86_64,  # Lambda@Edge runs x86_64 only
            handler="index.handler",
            code=edge_code(config),
            memory_size=128,
            timeout=TIMEOUT,
            role=self.role,
        )
        self.version = self.function.current_version
        acknowledge(
            self.function,
            "L1",
            f"Runtime pinned to {RUNTIME.name}: the handler and its bundle are built and tested "
            "for it (lambdas/edge_auth, esbuild target node22); move them together.",
        )
        partition = (
            "<AWS::Partition>" if cdk.Token.is_unresolved(stack.partition) else stack.partition
        )
        acknowledge(
            self.role,
            f"IAM5[Resource::arn:{partition}:logs:*:<AWS::AccountId>:log-group:"
            f"/aws/lambda/{EDGE_REGION}.{FUNCTION_NAME}:*]",
            "Lambda@Edge writes its logs in whichever region served the request, to a group "
            "named after this function; the region and the log streams cannot be known in "
            "advance. The actions are the basic execution ones, on this function's group only.",
        )


class EdgeStack(cdk.Stack):
    """The sign-in function in us-east-1, its own stack: CloudFront deletes its replicas
    hours after the distribution lets go of it, so deleting this stack may need a retry.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        auth: AuthSettings,
        pool_region: str,
        secrets: EdgeSecrets,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        if self.region != EDGE_REGION:
            raise ValueError(f"Lambda@Edge functions live in {EDGE_REGION}, not {self.region}")
        config = edge_config(auth, pool_region=pool_region, secrets=secrets)
        sign_in = SignInFunction(self, "SignIn", config=config)
        self.function = sign_in.function
        self.role = sign_in.role
        self.version = sign_in.version
        cdk.CfnOutput(
            self,
            "FunctionVersionArn",
            value=self.version.function_arn,
            description="The sign-in version every cache behaviour runs (viewer-request)",
        )

        # Read by the site stack through Fn::GetStackOutput (a weak reference) rather than
        # an export: every new version changes the ARN, and CloudFormation refuses to change
        # an export another stack imports. It also works from any region to us-east-1.
        cdk.CrossStackReferences.of(self.version).produce(cdk.ReferenceStrength.WEAK)
        self.edge_lambda = cloudfront.EdgeLambda(
            function_version=self.version,
            event_type=cloudfront.LambdaEdgeEventType.VIEWER_REQUEST,
            include_body=False,
        )

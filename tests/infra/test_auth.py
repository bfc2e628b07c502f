"""Sign-in (decision 0009): the user pool's settings, the edge function's runtime and region,
a viewer-request gate on every behaviour in both stages, a guard that fails synth for a
behaviour without one, and edge secrets that reach the asset and nothing else.

Stage 1: [deploy.auth] with a domain prefix only (pool, no edge function: every request 403).
Stage 2: the pool's ids filled in, the secrets in the environment: the edge stack exists.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cdk_nag
import pytest
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk.assertions import Template

from fleetboard.config import ConfigError, load
from infra.app import Stacks
from infra.auth import COOKIE_DAYS, MIN_PASSWORD_LENGTH
from infra.edge import (
    CLIENT_SECRET_ENV,
    NONCE_SECRET_ENV,
    EdgeSecrets,
    edge_asset_hash,
    edge_config,
)

from .conftest import EXAMPLE, ROOT, cfn_lint, synth

POOL_ID = "us-east-1_AbCdEf123"
CLIENT_ID = "1h2j3k4l5m6n7o8p9q0r1s2t3u"
PREFIX = "acme-fleetboard"
# Distinctive, so a search of the output finds them wherever they leak.
CLIENT_SECRET = "client-secret-7f3a9c1e5b2d8f4a6c0e9b3d7a1f5c2e8b4d6a0c"
NONCE_SECRET = "nonce-secret-d41d8cd98f00b204e9800998ecf8427e-0123456789"
SECRETS = {CLIENT_SECRET_ENV: CLIENT_SECRET, NONCE_SECRET_ENV: NONCE_SECRET}


def fleet_toml(tmp: Path, auth: str) -> Path:
    path = tmp / "fleet.toml"
    path.write_text(EXAMPLE.read_text() + "\n[deploy.auth]\n" + auth)
    return path


STAGE_1 = f'domain_prefix = "{PREFIX}"\n'
STAGE_2 = STAGE_1 + f'user_pool_id = "{POOL_ID}"\nclient_id = "{CLIENT_ID}"\n'


@dataclass(frozen=True)
class Stage:
    stacks: Stacks
    out: Path
    report: dict[str, Any]

    def template(self, name: str) -> dict[str, Any]:
        return json.loads((self.out / f"fleetboard-{name}.template.json").read_text())  # type: ignore[no-any-return]

    def resources(self, name: str, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.template(name)["Resources"].values() if r["Type"] == kind]

    def one(self, name: str, kind: str) -> dict[str, Any]:
        (found,) = self.resources(name, kind)
        return found["Properties"]  # type: ignore[no-any-return]

    @property
    def behaviours(self) -> list[dict[str, Any]]:
        config = self.one("site", "AWS::CloudFront::Distribution")["DistributionConfig"]
        return [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", [])]


def _synth_stage(tmp: Path, auth: str, environ: dict[str, str]) -> Stage:
    """The whole app with cdk-nag, as app.py runs it; only the edge asset is bundled."""
    config = fleet_toml(tmp, auth)
    app, stacks = synth(config, bundle=["fleetboard-edge"], outdir=tmp / "out", environ=environ)
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    app.synth()
    report = json.loads((tmp / "out" / "validation-report.json").read_text())
    return Stage(stacks, tmp / "out", report)


@pytest.fixture(scope="module")
def stage1(tmp_path_factory: pytest.TempPathFactory) -> Stage:
    return _synth_stage(tmp_path_factory.mktemp("stage1"), STAGE_1, {})


@pytest.fixture(scope="module")
def stage2(tmp_path_factory: pytest.TempPathFactory) -> Stage:
    return _synth_stage(tmp_path_factory.mktemp("stage2"), STAGE_2, SECRETS)


@pytest.fixture(scope="module", params=["stage1", "stage2"])
def stage(request: pytest.FixtureRequest) -> Stage:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- the pool


def test_only_admins_create_users(stage1: Stage) -> None:
    pool = stage1.one("auth", "AWS::Cognito::UserPool")
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True


def test_totp_mfa_is_required_and_sms_is_not_offered(stage1: Stage) -> None:
    pool = stage1.one("auth", "AWS::Cognito::UserPool")
    assert pool["MfaConfiguration"] == "ON"
    assert pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert "SmsConfiguration" not in pool


def test_passwords_are_long_and_use_every_class(stage1: Stage) -> None:
    policy = stage1.one("auth", "AWS::Cognito::UserPool")["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= MIN_PASSWORD_LENGTH >= 14
    assert all(policy[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers"))
    assert policy["RequireSymbols"] is True


def test_the_pool_and_its_users_outlive_the_stack(stage1: Stage) -> None:
    (pool,) = stage1.resources("auth", "AWS::Cognito::UserPool")
    assert pool["DeletionPolicy"] == "Retain"


def test_the_required_group_exists(stage1: Stage) -> None:
    group = stage1.one("auth", "AWS::Cognito::UserPoolGroup")
    assert group["GroupName"] == "fleetboard-viewers"


def test_the_hosted_sign_in_domain_is_the_configured_prefix(stage1: Stage) -> None:
    assert stage1.one("auth", "AWS::Cognito::UserPoolDomain")["Domain"] == PREFIX


def test_the_client_has_a_secret_and_only_the_code_grant(stage1: Stage) -> None:
    client = stage1.one("auth", "AWS::Cognito::UserPoolClient")
    assert client["GenerateSecret"] is True
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["AllowedOAuthScopes"] == ["openid", "email"]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    assert client["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]  # no password APIs


def test_tokens_are_short_lived(stage1: Stage) -> None:
    client = stage1.one("auth", "AWS::Cognito::UserPoolClient")
    assert client["TokenValidityUnits"] == {
        "AccessToken": "minutes",
        "IdToken": "minutes",
        "RefreshToken": "minutes",
    }
    assert client["IdTokenValidity"] <= 60 and client["AccessTokenValidity"] <= 60
    assert client["RefreshTokenValidity"] <= 24 * 60
    assert client["RefreshTokenValidity"] == COOKIE_DAYS * 24 * 60  # cookies die with it


def test_the_client_hides_which_users_exist_and_revokes_tokens(stage1: Stage) -> None:
    client = stage1.one("auth", "AWS::Cognito::UserPoolClient")
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    assert client["EnableTokenRevocation"] is True


def test_sign_in_returns_to_the_boards_own_host(stage1: Stage) -> None:
    client = stage1.one("auth", "AWS::Cognito::UserPoolClient")
    (callback,) = client["CallbackURLs"]
    (logout,) = client["LogoutURLs"]
    parts = callback["Fn::Join"][1]
    assert parts[0] == "https://" and parts[2] == "/oauth2/callback"
    assert "Fn::ImportValue" in parts[1]  # the site stack's distribution domain
    assert logout["Fn::Join"][1][2] == "/"


def test_a_custom_domain_gets_its_own_callback(tmp_path: Path) -> None:
    config = fleet_toml(tmp_path, STAGE_1 + 'callback_host = "board.example.org"\n')
    _, stacks = synth(config)
    assert stacks.auth is not None
    client = Template.from_stack(stacks.auth).find_resources("AWS::Cognito::UserPoolClient")
    (props,) = (r["Properties"] for r in client.values())
    assert props["CallbackURLs"][0] == "https://board.example.org/oauth2/callback"
    assert props["LogoutURLs"][0] == "https://board.example.org/"


# --------------------------------------------------------------------------- the gate


def test_without_deploy_auth_there_is_no_pool_and_every_behaviour_denies(
    stacks: Stacks,
) -> None:
    assert stacks.auth is None and stacks.edge is None
    template = Template.from_stack(stacks.site).to_json()
    dist = next(
        r for r in template["Resources"].values() if r["Type"] == "AWS::CloudFront::Distribution"
    )
    config = dist["Properties"]["DistributionConfig"]
    for behaviour in [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]:
        assert [a["EventType"] for a in behaviour["FunctionAssociations"]] == ["viewer-request"]


def test_in_stage_1_every_behaviour_answers_403_without_caching(stage1: Stage) -> None:
    assert stage1.stacks.edge is None
    functions = stage1.template("site")["Resources"]
    (deny_id,) = [k for k, r in functions.items() if r["Type"] == "AWS::CloudFront::Function"]
    code = functions[deny_id]["Properties"]["FunctionCode"]
    assert "statusCode: 403" in code and "no-store" in code
    assert "sign-in not configured yet" in code
    assert len(stage1.behaviours) > 1
    for behaviour in stage1.behaviours:
        assert behaviour["FunctionAssociations"] == [
            {"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": [deny_id, "FunctionARN"]}}
        ]
        assert "LambdaFunctionAssociations" not in behaviour


def test_in_stage_2_every_behaviour_runs_the_sign_in_function(stage2: Stage) -> None:
    assert len(stage2.behaviours) > 1
    for behaviour in stage2.behaviours:
        (association,) = behaviour["LambdaFunctionAssociations"]
        assert association["EventType"] == "viewer-request"
        assert association["IncludeBody"] is False
        ref = association["LambdaFunctionARN"]["Fn::GetStackOutput"]
        assert ref["StackName"] == "fleetboard-edge" and ref["Region"] == "us-east-1"
        assert "FunctionAssociations" not in behaviour
    assert not stage2.resources("site", "AWS::CloudFront::Function")


def test_the_sign_in_function_runs_node_22_in_us_east_1(stage2: Stage) -> None:
    assert stage2.stacks.edge is not None
    assert stage2.stacks.edge.region == "us-east-1"
    function = stage2.one("edge", "AWS::Lambda::Function")
    assert function["Runtime"] == "nodejs22.x"
    assert function["Handler"] == "index.handler"
    assert function["Timeout"] <= 5
    assert "Environment" not in function  # Lambda@Edge has none; config.json instead
    assert stage2.resources("edge", "AWS::Lambda::Version")


def test_the_sign_in_role_only_writes_its_own_logs(stage2: Stage) -> None:
    role = stage2.one("edge", "AWS::IAM::Role")
    principals = {
        p for s in role["AssumeRolePolicyDocument"]["Statement"] for p in s["Principal"]["Service"]
    }
    assert principals == {"lambda.amazonaws.com", "edgelambda.amazonaws.com"}
    assert "ManagedPolicyArns" not in role
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == [
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    resource = "".join(
        p if isinstance(p, str) else "<ref>" for p in statement["Resource"]["Fn::Join"][1]
    )
    assert resource.endswith(":log-group:/aws/lambda/us-east-1.fleetboard-edge-auth:*")
    assert not stage2.resources("edge", "AWS::IAM::Policy")


def _site_with(
    tmp: Path, add: Callable[[Stacks], None], auth: str, environ: dict[str, str]
) -> None:
    app, stacks = synth(fleet_toml(tmp, auth), outdir=tmp / "out", environ=environ)
    add(stacks)
    app.synth()


def _add_open_behaviour(stacks: Stacks) -> None:
    origin = origins.S3BucketOrigin.with_origin_access_control(stacks.site.bucket)
    stacks.site.distribution.add_behavior("open/*", origin)


@pytest.mark.parametrize(
    ("auth", "environ"), [(STAGE_1, {}), (STAGE_2, SECRETS)], ids=["stage1", "stage2"]
)
def test_a_behaviour_added_without_sign_in_fails_synth(
    tmp_path: Path, auth: str, environ: dict[str, str]
) -> None:
    with pytest.raises(Exception, match=r"ValidationFailed|Validation failed") as caught:
        _site_with(tmp_path, _add_open_behaviour, auth, environ)
    assert "'open/*' has no viewer-request sign-in function" in str(caught.value)


def test_the_guard_passes_a_behaviour_built_the_sanctioned_way(tmp_path: Path) -> None:
    _site_with(tmp_path, lambda s: None, STAGE_1, {})  # no raise


# --------------------------------------------------------------------------- secrets


def test_the_secrets_reach_the_asset_and_nothing_else(stage2: Stage) -> None:
    assets = {p.parent for p in stage2.out.glob("asset.*/config.json")}
    assert len(assets) == 1, "the edge asset was not bundled"
    (asset,) = assets
    config = json.loads((asset / "config.json").read_text())
    assert config["userPoolAppSecret"] == CLIENT_SECRET
    assert config["nonceSigningSecret"] == NONCE_SECRET
    assert (asset / "index.js").is_file()
    leaks = [
        str(path.relative_to(stage2.out))
        for path in stage2.out.rglob("*")
        if path.is_file()
        and asset not in path.parents
        and any(s in path.read_text(errors="replace") for s in (CLIENT_SECRET, NONCE_SECRET))
    ]
    assert leaks == []


def test_config_json_is_one_the_handler_accepts(stage2: Stage) -> None:
    (config,) = stage2.out.glob("asset.*/config.json")
    script = (
        "const {parseConfig} = require(process.argv[1]);"
        "const c = parseConfig(JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8')));"
        "console.log(c.userPoolDomain, c.requiredGroup, c.parseAuthPath, c.logoutPath);"
    )
    done = subprocess.run(
        ["node", "-e", script, str(ROOT / "lambdas/edge_auth/config.js"), str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        f"{PREFIX}.auth.us-east-1.amazoncognito.com",
        "fleetboard-viewers",
        "/oauth2/callback",
        "/signout",
    ]


def test_the_asset_hash_is_stable_and_follows_the_secrets(tmp_path: Path) -> None:
    auth = load(fleet_toml(tmp_path, STAGE_2)).deploy.auth
    assert auth is not None
    same = EdgeSecrets(CLIENT_SECRET, NONCE_SECRET)
    other = EdgeSecrets(CLIENT_SECRET, NONCE_SECRET + "x")
    first = edge_asset_hash(edge_config(auth, pool_region="us-east-1", secrets=same))
    assert first == edge_asset_hash(edge_config(auth, pool_region="us-east-1", secrets=same))
    assert first != edge_asset_hash(edge_config(auth, pool_region="us-east-1", secrets=other))
    assert CLIENT_SECRET not in repr(same) and NONCE_SECRET not in repr(same)


def test_stage_2_without_the_secrets_stops_synth_naming_each_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        synth(fleet_toml(tmp_path, STAGE_2), environ={NONCE_SECRET_ENV: "tooShortNonce9"})
    problems = caught.value.problems
    assert len(problems) == 2
    assert problems[0].startswith(f"{CLIENT_SECRET_ENV} is not set")
    assert problems[1].startswith(f"{NONCE_SECRET_ENV} is too short")
    assert not any("tooShortNonce9" in p for p in problems)  # never echoed


# --------------------------------------------------------------------------- checks


def test_cdk_nag_finds_nothing_unacknowledged(stage: Stage) -> None:
    findings = [
        f"{v['ruleName']} at {c['constructPath']}"
        for p in stage.report["pluginReports"]
        for v in p["violations"]
        for c in v["violatingConstructs"]
    ]
    assert findings == []


def test_cfn_lint_finds_nothing_in_the_templates(stage: Stage) -> None:
    done = cfn_lint(stage.out)
    assert done.returncode == 0, done.stdout + done.stderr

"""The auth stack: the Cognito user pool that says who may see the board (docs/design.md).

Admin-created users only, TOTP MFA required, a strong password policy, the required group,
the hosted sign-in domain, and one app client with a secret for the code grant, whose
callback is the board's own host. The edge function (infra/edge.py) checks its tokens.

    auth = AuthStack(app, "fleetboard-auth", settings=deploy.auth, board_hosts=[...], env=env)
    auth.user_pool, auth.client, auth.group
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from fleetboard.inventory import AuthSettings
from infra.nag import acknowledge

#: Where the hosted sign-in page sends the viewer back, and where the edge function
#: exchanges the code (its config.json `parseAuthPath`, `logoutPath`).
CALLBACK_PATH = "/oauth2/callback"
SIGN_OUT_PATH = "/signout"
#: Short-lived tokens: the edge function checks the id token offline (JWKS), so a disabled
#: or signed-out user keeps the board for at most ID_TOKEN_VALIDITY; the refresh token
#: (revoked at sign-out) ends the session after REFRESH_TOKEN_VALIDITY whatever happens.
ID_TOKEN_VALIDITY = cdk.Duration.minutes(15)
REFRESH_TOKEN_VALIDITY = cdk.Duration.hours(12)
#: The session cookies' lifetime in config.json: the refresh token's.
COOKIE_DAYS = REFRESH_TOKEN_VALIDITY.to_hours() / 24
MIN_PASSWORD_LENGTH = 14


def hosted_ui_domain(settings: AuthSettings, region: str) -> str:
    """The hosted sign-in page's host name, as config.json's `userPoolDomain` wants it."""
    return f"{settings.domain_prefix}.auth.{region}.amazoncognito.com"


class AuthStack(cdk.Stack):
    """The user pool in the fleet's region: its group, its hosted UI domain and the board's
    app client; and the outputs stage 2 needs (decision 0009).

    `board_hosts`: the host names the board is served on (its custom domain and its
    *.cloudfront.net name); each gets a callback and a sign-out URL on the app client.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: AuthSettings,
        board_hosts: Sequence[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        # The pool and its parts sit under "Users", where they were first deployed: the
        # path is their logical id, and a new one would replace the pool and lose its users.
        users = Construct(self, "Users")
        self.user_pool = _user_pool(users, invite_host=board_hosts[0])
        self.group = cognito.UserPoolGroup(
            users,
            "Viewers",
            user_pool=self.user_pool,
            group_name=settings.group,
            description="Members see the fleetboard status board",
        )
        self.domain = self.user_pool.add_domain(
            "Domain",
            cognito_domain=cognito.CognitoDomainOptions(domain_prefix=settings.domain_prefix),
        )
        self.client = _board_client(self.user_pool, board_hosts)

        outputs = {  # output name -> (value, description)
            "UserPoolId": (self.user_pool.user_pool_id, "[deploy.auth] user_pool_id"),
            "ClientId": (
                self.client.user_pool_client_id,
                "[deploy.auth] client_id; its secret (never an output): aws cognito-idp "
                "describe-user-pool-client --user-pool-id <UserPoolId> --client-id <this> "
                "--query UserPoolClient.ClientSecret --output text",
            ),
            "SignInDomain": (hosted_ui_domain(settings, self.region), "The hosted sign-in page"),
            "Group": (settings.group, "Members see the board"),
        }
        for name, (value, description) in outputs.items():
            cdk.CfnOutput(self, name, value=value, description=description)


def _user_pool(scope: Construct, *, invite_host: str) -> cognito.UserPool:
    """Admin-created users only, TOTP MFA required, a strong password policy; the
    invitation points at `invite_host`."""
    pool = cognito.UserPool(
        scope,
        "Pool",
        user_pool_name="fleetboard",
        # Lite: everything used here (hosted UI, TOTP, groups) is in it, 10,000 MAU free.
        feature_plan=cognito.FeaturePlan.LITE,
        self_sign_up_enabled=False,  # infra owners add people (scripts/add-user.sh)
        sign_in_aliases=cognito.SignInAliases(email=True),  # the user name is the e-mail
        sign_in_case_sensitive=False,
        standard_attributes=cognito.StandardAttributes(
            email=cognito.StandardAttribute(required=True, mutable=False)
        ),
        mfa=cognito.Mfa.REQUIRED,
        mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True, email=False),
        password_policy=cognito.PasswordPolicy(
            min_length=MIN_PASSWORD_LENGTH,
            require_lowercase=True,
            require_uppercase=True,
            require_digits=True,
            require_symbols=True,
            temp_password_validity=cdk.Duration.days(3),
        ),
        account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
        user_invitation=cognito.UserInvitationConfig(
            email_subject="fleetboard: your sign-in",
            email_body=(
                "You can now see the fleetboard status board at "
                f"https://{invite_host}/ . User name: {{username}} ; temporary "
                "password: {####} . You will choose a new password and set up an "
                "authenticator app (TOTP) at first sign-in."
            ),
        ),
        # The users outlive a `cdk destroy`: re-adding everyone is not an undo.
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    acknowledge(
        pool,
        "COG8",
        "Lite feature plan, not Plus: Plus (threat protection) bills every active user "
        "with no free tier, more than the whole board costs; sign-in is admin-created "
        "users with TOTP MFA required and a 14-character password policy.",
    )
    return pool


def _board_client(pool: cognito.UserPool, board_hosts: Sequence[str]) -> cognito.UserPoolClient:
    """The board's app client: the code grant with a secret, a callback and a sign-out URL
    on each of `board_hosts`, short-lived tokens."""
    client = pool.add_client(
        "Board",
        user_pool_client_name="fleetboard-board",
        generate_secret=True,
        o_auth=cognito.OAuthSettings(
            flows=cognito.OAuthFlows(authorization_code_grant=True, implicit_code_grant=False),
            scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
            callback_urls=[f"https://{host}{CALLBACK_PATH}" for host in board_hosts],
            logout_urls=[f"https://{host}/" for host in board_hosts],
        ),
        supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
        id_token_validity=ID_TOKEN_VALIDITY,
        access_token_validity=ID_TOKEN_VALIDITY,
        refresh_token_validity=REFRESH_TOKEN_VALIDITY,
        prevent_user_existence_errors=True,
        enable_token_revocation=True,
    )
    # The hosted UI is the only way in: no SRP or password API flows on this client,
    # only the refresh the edge function does (the L2 cannot express "refresh only").
    cfn = client.node.default_child
    assert isinstance(cfn, cognito.CfnUserPoolClient)
    cfn.explicit_auth_flows = ["ALLOW_REFRESH_TOKEN_AUTH"]
    return client

"""The site stack: the private bucket the collector publishes into, and the CloudFront
distribution that serves it, plus the managed policy other tools read it by
(docs/design.md#infrastructure).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct, IValidation

from fleetboard.inventory import DeploySettings
from fleetboard.publish import EVENTS_PREFIX, FEED, HISTORY_PREFIX, LATEST, VERSION
from infra.nag import acknowledge

#: What the page loads, and nothing more (site/templates/index.html.j2, site/static/):
#: board.css, board.js, `fetch("latest.json")` and the `data:,` favicon. No inline script
#: or style anywhere (docs/design.md#page), so no 'unsafe-inline' and no hashes.
CSP: Mapping[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "img-src": ("'self'", "data:"),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "connect-src": ("'self'",),
    "base-uri": ("'none'",),
    "form-action": ("'none'",),
    "frame-ancestors": ("'none'",),
    "object-src": ("'none'",),
}
CSP_HEADER = "; ".join(f"{name} {' '.join(sources)}" for name, sources in CSP.items())

#: Versioning is there to undo a bad publish or a stray delete, found within days; history/
#: is the archive. At a one-minute schedule latest.json and index.html leave ~2,900 old
#: versions a day, so keeping them longer only costs.
NONCURRENT_DAYS = 3
#: A missing page or a first latest.json after deploy shows up within seconds.
ERROR_CACHING = cdk.Duration.seconds(10)
#: latest.json is never cached beyond seconds, whatever its Cache-Control says
#: (docs/design.md#infrastructure).
LATEST_MAX_TTL = cdk.Duration.seconds(10)
NOT_FOUND_PAGE = "/not-found.html"
VIEWER_REQUEST = cloudfront.LambdaEdgeEventType.VIEWER_REQUEST

#: Stage 1 of sign-in (docs/decisions/0009): until the edge function exists, a CloudFront
#: Function answers every request itself, so the board is never public, not even for the
#: minutes between a first deploy and the second.
SIGN_IN_NOT_CONFIGURED = """\
async function handler(event) {
  return {
    statusCode: 403,
    statusDescription: 'Forbidden',
    headers: {
      'cache-control': { value: 'no-cache, no-store, max-age=0, must-revalidate' },
      'content-type': { value: 'text/plain; charset=utf-8' }
    },
    body: {
      encoding: 'text',
      data: 'fleetboard: sign-in not configured yet (README, Deploy to AWS)\\n'
    }
  };
}
"""


def private_bucket(scope: Construct, id: str, **props: Any) -> s3.Bucket:
    """A bucket with what both of this stack's have, whatever they hold: no public access,
    TLS 1.2 or later only, encrypted at rest with S3's own keys (CloudFront cannot write
    its logs into SSE-KMS). `props` say the rest: ownership, versioning, lifecycle, removal.
    """
    return s3.Bucket(
        scope,
        id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        encryption=s3.BucketEncryption.S3_MANAGED,
        **props,
    )


class LogsBucket(Construct):
    """Where S3 server access logs and CloudFront standard logs land, kept for a while."""

    def __init__(self, scope: Construct, id: str, *, retention_days: int) -> None:
        super().__init__(scope, id)
        self.bucket = private_bucket(
            self,
            "Bucket",
            # CloudFront standard logs are written through an ACL grant to its log delivery
            # account, so ACLs stay enabled here, and only here; S3 server access logs come
            # through the bucket policy (@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy).
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-logs",
                    expiration=cdk.Duration.days(retention_days),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                ),
            ],
            # Access logs are the record of who read the board; they outlive the stack and
            # the lifecycle rule still empties the bucket after it is gone.
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        # No access log of its own: logging this bucket into itself would loop, and a third
        # bucket only moves the question. cdk-nag's S1 already accepts a bucket that is
        # another bucket's log target, so there is no finding to acknowledge.


class BoardBucket(Construct):
    """The private bucket the collector publishes the board into (docs/design.md#publishing)."""

    def __init__(self, scope: Construct, id: str, *, logs: s3.IBucket, history_days: int) -> None:
        super().__init__(scope, id)
        self.bucket = private_bucket(
            self,
            "Bucket",
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-history",
                    prefix=HISTORY_PREFIX,
                    expiration=cdk.Duration.days(history_days),
                ),
                s3.LifecycleRule(
                    id="expire-old-versions",
                    noncurrent_version_expiration=cdk.Duration.days(NONCURRENT_DAYS),
                    # An expired history object leaves a delete marker once its last
                    # version is gone; clear those too.
                    expired_object_delete_marker=True,
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                ),
            ],
            server_access_logs_bucket=logs,
            server_access_logs_prefix="s3/board/",
            # history/ is the only record of past passes; a stack update that replaces the
            # bucket, or a `cdk destroy`, must not take it along.
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )


class BoardDistribution(Construct):
    """CloudFront in front of the bucket: OAC, HTTPS, security headers, caching by the
    objects' own Cache-Control, and every behaviour built by one helper so each carries the
    same headers and edge functions.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket: s3.IBucket,
        logs: s3.IBucket,
        domain_name: str | None,
        certificate_arn: str | None,
        edge_lambdas: Sequence[cloudfront.EdgeLambda],
    ) -> None:
        super().__init__(scope, id)
        self._origin = origins.S3BucketOrigin.with_origin_access_control(bucket)
        # The auth seam (docs/design.md#infrastructure): a viewer-request Lambda@Edge on every
        # behaviour. Any behaviour added later goes through behaviour(), so it cannot be left open.
        self._edge_lambdas = list(edge_lambdas)
        # Without a viewer-request function (stage 1), every behaviour denies everything.
        self.deny: cloudfront.Function | None = None
        if not any(e.event_type == VIEWER_REQUEST for e in self._edge_lambdas):
            self.deny = cloudfront.Function(
                self,
                "SignInNotConfigured",
                comment="fleetboard: 403 until sign-in is configured (stage 1)",
                code=cloudfront.FunctionCode.from_inline(SIGN_IN_NOT_CONFIGURED),
                runtime=cloudfront.FunctionRuntime.JS_2_0,
            )
        self.headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="fleetboard: strict CSP, HSTS, no sniffing, no framing, no referrer",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=CSP_HEADER, override=True
                ),
                # Two years, as the HSTS preload list asks; not preloaded, because preload
                # is a promise about the whole parent domain, which this stack does not own.
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=cdk.Duration.days(730),
                    include_subdomains=True,
                    override=True,
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
            ),
        )
        # Min TTL 0 lets each object's Cache-Control rule (short for the page and
        # latest.json, immutable for history/, docs/design.md); the default only applies to an
        # object published without one. The key is the path alone: the board has no
        # variants, and a query string must not be a way past the cache to the bucket. The
        # edge function reads its cookies before the cache lookup, so they stay out too.
        self.objects_cache = self._cache_policy(
            "ObjectsCache",
            comment="fleetboard: each object's Cache-Control rules",
            default_ttl=cdk.Duration.seconds(10),
            max_ttl=cdk.Duration.days(365),
        )
        self.latest_cache = self._cache_policy(
            "LatestCache",
            comment="fleetboard: latest.json is never older than seconds",
            default_ttl=LATEST_MAX_TTL,
            max_ttl=LATEST_MAX_TTL,
        )

        certificate = None
        if domain_name and certificate_arn:
            certificate = acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn)
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="fleetboard status board",
            default_behavior=self.behaviour(self.objects_cache),
            additional_behaviors={
                key: self.behaviour(self.latest_cache) for key in (LATEST, VERSION)
            },
            default_root_object="index.html",
            domain_names=[domain_name] if certificate and domain_name else None,
            certificate=certificate,
            # Only with a certificate of our own: the default one's policy is fixed (CFR4).
            minimum_protocol_version=(
                cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if certificate else None
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            error_responses=[
                # Under OAC the bucket policy grants s3:GetObject but not s3:ListBucket, so
                # S3 answers a missing key with 403; the viewer should see a 404 page.
                cloudfront.ErrorResponse(
                    http_status=403,
                    response_http_status=404,
                    response_page_path=NOT_FOUND_PAGE,
                    ttl=ERROR_CACHING,
                ),
            ],
            enable_logging=True,
            log_bucket=logs,
            log_file_prefix="cloudfront/",
        )
        address = domain_name if certificate else self.distribution.distribution_domain_name
        self.url = f"https://{address}"
        self._acknowledge(custom_certificate=certificate is not None)

    def behaviour(self, cache_policy: cloudfront.ICachePolicy) -> cloudfront.BehaviorOptions:
        """Every behaviour of the distribution: same origin, HTTPS, headers, edge functions."""
        return cloudfront.BehaviorOptions(
            origin=self._origin,
            # A person typing the address gets a 301 with no content rather than an error;
            # HSTS then keeps the browser on HTTPS. Tools read the bucket by IAM, not here.
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
            cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
            compress=True,
            cache_policy=cache_policy,
            response_headers_policy=self.headers,
            edge_lambdas=self._edge_lambdas or None,
            function_associations=(
                [
                    cloudfront.FunctionAssociation(
                        function=self.deny, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                    )
                ]
                if self.deny
                else None
            ),
        )

    def _cache_policy(
        self, id: str, *, comment: str, default_ttl: cdk.Duration, max_ttl: cdk.Duration
    ) -> cloudfront.CachePolicy:
        return cloudfront.CachePolicy(
            self,
            id,
            comment=comment,
            min_ttl=cdk.Duration.seconds(0),
            default_ttl=default_ttl,
            max_ttl=max_ttl,
            query_string_behavior=cloudfront.CacheQueryStringBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )

    def _acknowledge(self, *, custom_certificate: bool) -> None:
        acknowledge(
            self.distribution,
            "CFR1",
            "No geo restriction: the fleet's operators travel, and the viewer-request auth "
            "function (docs/design.md#infrastructure) gates every request whatever its country.",
        )
        acknowledge(
            self.distribution,
            "CFR2",
            "No WAF: a read-only static board with no forms, no query strings in the cache "
            "key and auth at the edge; a web ACL would cost more than the whole board.",
        )
        if not custom_certificate:
            acknowledge(
                self.distribution,
                "CFR4",
                "No custom domain configured: the default *.cloudfront.net certificate "
                "cannot be pinned to TLS 1.2. Setting deploy.domain_name and "
                "certificate_arn (README recommends it) applies TLSv1.2_2021.",
            )


@jsii.implements(IValidation)
class EveryBehaviourSignsIn:
    """Synth fails if any cache behaviour of the distribution lacks a viewer-request gate:
    the sign-in Lambda@Edge function (stage 2) or the deny function (stage 1).

    It reads the CfnDistribution's properties as they will be written, so a behaviour added
    any way the L2 allows (`distribution.add_behavior`, not only `behaviour()`) is checked.

        stack.node.add_validation(EveryBehaviourSignsIn(distribution))
    """

    def __init__(self, distribution: cloudfront.Distribution) -> None:
        self.distribution = distribution

    def validate(self) -> list[str]:
        cfn = self.distribution.node.default_child
        if not isinstance(cfn, cloudfront.CfnDistribution):
            return [f"{self.distribution.node.path}: no CfnDistribution to check"]
        # The protected accessor: the public `distribution_config` cannot be read back into
        # Python (the L2 fills it with plain objects the struct types reject).
        props = cdk.Stack.of(cfn).resolve(cfn._cfn_properties)
        config = props["distributionConfig"]
        behaviours = [config["defaultCacheBehavior"], *config.get("cacheBehaviors", [])]
        return [
            f"{self.distribution.node.path}: the cache behaviour for "
            f"{b.get('pathPattern', '*')!r} has no viewer-request sign-in function; build "
            "every behaviour with BoardDistribution.behaviour() (docs/decisions/0009)"
            for b in behaviours
            if not _signs_in(b)
        ]


def _signs_in(behaviour: Mapping[str, Any]) -> bool:
    associations = [
        *behaviour.get("lambdaFunctionAssociations", []),
        *behaviour.get("functionAssociations", []),
    ]
    return any(a.get("eventType") == "viewer-request" for a in associations)


class ReaderPolicy(Construct):
    """A managed policy for other tools: read latest.json, the feed and history/ straight
    from S3, and list the events log by day."""

    def __init__(self, scope: Construct, id: str, *, bucket: s3.IBucket) -> None:
        super().__init__(scope, id)
        history = bucket.arn_for_objects(f"{HISTORY_PREFIX}*")
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=(
                "Read the fleetboard snapshot: latest.json, version.json, feed.xml and "
                "history/ only; list history/events/ only."
            ),
            statements=[
                iam.PolicyStatement(
                    sid="ReadSnapshots",
                    actions=["s3:GetObject"],
                    resources=[
                        bucket.arn_for_objects(LATEST),
                        bucket.arn_for_objects(VERSION),
                        bucket.arn_for_objects(FEED),
                        history,
                    ],
                ),
                # The events log's keys are the times of the passes that saw a change: a tool
                # finds a day's by listing its prefix, and may list nothing else.
                iam.PolicyStatement(
                    sid="ListEvents",
                    actions=["s3:ListBucket"],
                    resources=[bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{EVENTS_PREFIX}*"]}},
                ),
            ],
        )
        acknowledge(
            self.policy,
            f"IAM5[Resource::<{_logical_ref(bucket)}>/{HISTORY_PREFIX}*]",
            "history/* is the read-only archive of snapshots, one object per pass under a "
            "date path; naming each one is impossible, and GetObject is the only action.",
        )


def _logical_ref(bucket: s3.IBucket) -> str:
    """`LogicalId.Arn`: how a cdk-nag finding ID names this bucket's ARN, inside `<...>`."""
    child = bucket.node.default_child
    if not isinstance(child, cdk.CfnElement):
        raise TypeError(f"{bucket.node.path} is not a bucket this stack defines")
    return f"{cdk.Stack.of(bucket).get_logical_id(child)}.Arn"


class SiteStack(cdk.Stack):
    """Bucket, logs, distribution and reader policy, with the outputs an operator needs.

    `edge_lambdas` is the auth seam: the sign-in function (infra/edge.py) goes
    here and lands on every cache behaviour as viewer-request. Without one, every behaviour
    answers 403 (`sign_in_not_configured`), and synth fails if any behaviour has neither.

    Example::

        site = SiteStack(app, "fleetboard-site", deploy=loaded.deploy, env=env)
        site.bucket  # what the collector writes into
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        deploy: DeploySettings,
        edge_lambdas: Sequence[cloudfront.EdgeLambda] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        # config.py already refuses one without the other; this guards a direct caller.
        if bool(deploy.domain_name) != bool(deploy.certificate_arn):
            raise ValueError(
                "deploy.domain_name and deploy.certificate_arn go together: "
                "set both for a custom domain, or neither for the *.cloudfront.net address"
            )
        # Access logs share the collector's log retention: one knob for how long logs live.
        logs = LogsBucket(self, "Logs", retention_days=deploy.log_retention_days).bucket
        self.logs_bucket = logs
        self.bucket = BoardBucket(self, "Board", logs=logs, history_days=deploy.history_days).bucket
        site = BoardDistribution(
            self,
            "Site",
            bucket=self.bucket,
            logs=logs,
            domain_name=deploy.domain_name,
            certificate_arn=deploy.certificate_arn,
            edge_lambdas=edge_lambdas,
        )
        self.distribution = site.distribution
        self.sign_in_not_configured = site.deny
        self.node.add_validation(EveryBehaviourSignsIn(self.distribution))
        self.reader_policy = ReaderPolicy(self, "Reader", bucket=self.bucket).policy

        cdk.CfnOutput(self, "Url", value=site.url, description="The board")
        cdk.CfnOutput(self, "BucketName", value=self.bucket.bucket_name, description="Board bucket")
        cdk.CfnOutput(
            self,
            "ReaderPolicyArn",
            value=self.reader_policy.managed_policy_arn,
            description="Attach to a role to read latest.json and history/ from S3",
            export_name=f"{self.stack_name}-reader-policy-arn",
        )

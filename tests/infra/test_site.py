"""The site stack's promises: a private TLS-only bucket, CloudFront through OAC with strict
headers, an auth seam on every behaviour, a narrow reader policy, and a clean cdk-nag run.

The stack is built here directly (not through infra/app.py) with cdk.json's feature flags,
so each case can choose its own [deploy] settings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aws_cdk as cdk
import cdk_nag
import pytest
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template
from constructs import Construct
from tests.boards import demo_board, document

from fleetboard.config import DeploySettings, load
from fleetboard.render import render_page
from infra.site import SiteStack

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "site" / "static"
CDK_CONTEXT: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
ENV = cdk.Environment(region="us-east-1")

DOMAIN = "board.example.org"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0b6a1f0e-1d2c-4b5a-9e8f-7a6b5c4d3e2f"
# Distinct from the defaults, so a test proves the setting is wired, not hard-coded.
HISTORY_DAYS = 45
LOG_DAYS = 90
PLAIN = DeploySettings(history_days=HISTORY_DAYS, log_retention_days=LOG_DAYS)
CUSTOM = DeploySettings(domain_name=DOMAIN, certificate_arn=CERTIFICATE)
AUTH_ARN = "arn:aws:lambda:us-east-1:123456789012:function:fleetboard-auth:7"
HEADERS_ARN = "arn:aws:lambda:us-east-1:123456789012:function:fleetboard-headers:3"


def new_app(outdir: Path | None = None) -> cdk.App:
    """An app with the same feature flags `cdk synth` reads from cdk.json, bundling off."""
    context = {**CDK_CONTEXT, "aws:cdk:bundling-stacks": []}
    return cdk.App(context=context, outdir=str(outdir) if outdir else None)


@dataclass(frozen=True)
class Built:
    """A synthesized site stack and lookups into its template by construct."""

    stack: SiteStack
    template: Template
    resources: dict[str, Any]

    def logical_id(self, construct: Construct) -> str:
        child = construct.node.default_child
        assert isinstance(child, cdk.CfnElement)
        return self.stack.get_logical_id(child)

    def resource(self, construct: Construct) -> dict[str, Any]:
        return self.resources[self.logical_id(construct)]  # type: ignore[no-any-return]

    def bucket(self, which: str) -> dict[str, Any]:
        return self.resource(self.stack.bucket if which == "board" else self.stack.logs_bucket)

    @property
    def distribution_config(self) -> dict[str, Any]:
        return self.resource(self.stack.distribution)["Properties"]["DistributionConfig"]  # type: ignore[no-any-return]

    @property
    def behaviours(self) -> list[dict[str, Any]]:
        config = self.distribution_config
        return [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", [])]

    def behaviour(self, path_pattern: str) -> dict[str, Any]:
        return next(b for b in self.behaviours if b.get("PathPattern") == path_pattern)

    def by_ref(self, ref: dict[str, str]) -> dict[str, Any]:
        return self.resources[ref["Ref"]]  # type: ignore[no-any-return]

    @property
    def csp(self) -> dict[str, list[str]]:
        policy = self.by_ref(self.behaviours[0]["ResponseHeadersPolicyId"])
        header = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"][
            "ContentSecurityPolicy"
        ]["ContentSecurityPolicy"]
        return parse_csp(header)


def build(
    deploy: DeploySettings,
    edge_lambdas: Callable[[cdk.App], list[cloudfront.EdgeLambda]] = lambda app: [],
) -> Built:
    app = new_app()
    stack = SiteStack(
        app, "fleetboard-site", deploy=deploy, edge_lambdas=edge_lambdas(app), env=ENV
    )
    template = Template.from_stack(stack)
    return Built(stack, template, template.to_json()["Resources"])


def dummy_edge_lambdas(app: cdk.App) -> list[cloudfront.EdgeLambda]:
    """Two published versions standing in for the auth function of a later issue."""
    holder = cdk.Stack(app, "edge-holder", env=ENV)
    return [
        cloudfront.EdgeLambda(
            function_version=lambda_.Version.from_version_arn(holder, name, arn),
            event_type=event,
        )
        for name, arn, event in (
            ("Auth", AUTH_ARN, cloudfront.LambdaEdgeEventType.VIEWER_REQUEST),
            ("Headers", HEADERS_ARN, cloudfront.LambdaEdgeEventType.VIEWER_RESPONSE),
        )
    ]


@pytest.fixture(scope="module")
def plain() -> Built:
    return build(PLAIN)


@pytest.fixture(scope="module")
def custom() -> Built:
    return build(CUSTOM)


@pytest.fixture(scope="module")
def guarded() -> Built:
    return build(PLAIN, dummy_edge_lambdas)


def parse_csp(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


# --------------------------------------------------------------------------- buckets


@pytest.mark.parametrize("which", ["board", "logs"])
def test_the_bucket_blocks_all_public_access(plain: Built, which: str) -> None:
    assert plain.bucket(which)["Properties"]["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


@pytest.mark.parametrize("which", ["board", "logs"])
def test_the_bucket_refuses_requests_without_tls(plain: Built, which: str) -> None:
    bucket = plain.stack.bucket if which == "board" else plain.stack.logs_bucket
    plain.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": plain.logical_id(bucket)},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Principal": {"AWS": "*"},
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )


@pytest.mark.parametrize("which", ["board", "logs"])
def test_the_bucket_encrypts_objects_with_s3_managed_keys(plain: Built, which: str) -> None:
    encryption = plain.bucket(which)["Properties"]["BucketEncryption"]
    assert encryption == {
        "ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]
    }


def test_the_board_bucket_disables_acls(plain: Built) -> None:
    ownership = plain.bucket("board")["Properties"]["OwnershipControls"]
    assert ownership == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_the_logs_bucket_keeps_acls_for_cloudfront_log_delivery(plain: Built) -> None:
    ownership = plain.bucket("logs")["Properties"]["OwnershipControls"]
    assert ownership == {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}


def test_the_board_bucket_is_versioned(plain: Built) -> None:
    assert plain.bucket("board")["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}


def _rules(built: Built, which: str) -> list[dict[str, Any]]:
    return built.bucket(which)["Properties"]["LifecycleConfiguration"]["Rules"]  # type: ignore[no-any-return]


def test_history_expires_after_history_days(plain: Built) -> None:
    history = [r for r in _rules(plain, "board") if r.get("Prefix") == "history/"]
    assert [r["ExpirationInDays"] for r in history] == [HISTORY_DAYS]


def test_nothing_outside_history_expires(plain: Built) -> None:
    assert all(
        r.get("Prefix") == "history/" for r in _rules(plain, "board") if "ExpirationInDays" in r
    )


def test_noncurrent_versions_expire_after_a_few_days(plain: Built) -> None:
    days = [
        r["NoncurrentVersionExpiration"]["NoncurrentDays"]
        for r in _rules(plain, "board")
        if "NoncurrentVersionExpiration" in r and "Prefix" not in r
    ]
    assert len(days) == 1 and 1 <= days[0] <= 7


def test_expired_delete_markers_are_removed(plain: Built) -> None:
    assert any(r.get("ExpiredObjectDeleteMarker") for r in _rules(plain, "board"))


@pytest.mark.parametrize("which", ["board", "logs"])
def test_incomplete_multipart_uploads_are_aborted(plain: Built, which: str) -> None:
    assert any(
        "AbortIncompleteMultipartUpload" in r and "Prefix" not in r for r in _rules(plain, which)
    )


def test_the_board_bucket_outlives_the_stack(plain: Built) -> None:
    board = plain.bucket("board")
    assert (board["DeletionPolicy"], board["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_the_board_bucket_logs_access_to_the_logs_bucket(plain: Built) -> None:
    logging = plain.bucket("board")["Properties"]["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == {"Ref": plain.logical_id(plain.stack.logs_bucket)}


def test_access_logs_expire_after_log_retention_days(plain: Built) -> None:
    assert [r.get("ExpirationInDays") for r in _rules(plain, "logs")] == [LOG_DAYS]


# --------------------------------------------------------------------------- distribution


def test_cloudfront_reaches_the_bucket_through_origin_access_control(plain: Built) -> None:
    plain.template.has_resource_properties(
        "AWS::CloudFront::OriginAccessControl",
        {
            "OriginAccessControlConfig": Match.object_like(
                {
                    "OriginAccessControlOriginType": "s3",
                    "SigningBehavior": "always",
                    "SigningProtocol": "sigv4",
                }
            )
        },
    )
    (origin,) = plain.distribution_config["Origins"]
    assert "Fn::GetAtt" in origin["OriginAccessControlId"]


def test_only_this_distribution_may_read_the_bucket(plain: Built) -> None:
    policy = next(
        p
        for p in plain.template.find_resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": plain.logical_id(plain.stack.bucket)}
    )
    allows = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
    ]
    distribution = plain.logical_id(plain.stack.distribution)
    assert [(s["Principal"], s["Action"]) for s in allows] == [
        ({"Service": "cloudfront.amazonaws.com"}, "s3:GetObject")
    ]
    assert distribution in json.dumps(allows[0]["Condition"]["StringEquals"]["AWS:SourceArn"])


def test_viewers_are_redirected_to_https_on_every_behaviour(plain: Built) -> None:
    assert {b["ViewerProtocolPolicy"] for b in plain.behaviours} == {"redirect-to-https"}


def test_every_behaviour_only_allows_get_and_head(plain: Built) -> None:
    assert all(b["AllowedMethods"] == ["GET", "HEAD"] for b in plain.behaviours)


def test_the_root_serves_index_html(plain: Built) -> None:
    assert plain.distribution_config["DefaultRootObject"] == "index.html"


def test_http2_and_http3_are_enabled(plain: Built) -> None:
    assert plain.distribution_config["HttpVersion"] == "http2and3"


def test_the_distribution_uses_price_class_100(plain: Built) -> None:
    assert plain.distribution_config["PriceClass"] == "PriceClass_100"


def test_a_missing_key_answers_404_with_the_not_found_page(plain: Built) -> None:
    (error,) = plain.distribution_config["CustomErrorResponses"]
    assert (error["ErrorCode"], error["ResponseCode"], error["ResponsePagePath"]) == (
        403,
        404,
        "/not-found.html",
    )


def test_the_not_found_page_is_one_the_collector_publishes(plain: Built) -> None:
    (error,) = plain.distribution_config["CustomErrorResponses"]
    assert (STATIC / error["ResponsePagePath"].lstrip("/")).is_file()


def test_error_responses_are_cached_for_seconds_only(plain: Built) -> None:
    assert all(
        e["ErrorCachingMinTTL"] <= 30 for e in plain.distribution_config["CustomErrorResponses"]
    )


def test_cloudfront_logs_requests_to_the_logs_bucket(plain: Built) -> None:
    bucket = plain.distribution_config["Logging"]["Bucket"]
    assert bucket == {
        "Fn::GetAtt": [plain.logical_id(plain.stack.logs_bucket), "RegionalDomainName"]
    }


def test_without_a_custom_domain_the_board_is_at_its_cloudfront_address(plain: Built) -> None:
    plain.template.has_output(
        "Url",
        {
            "Value": {
                "Fn::Join": [
                    "",
                    [
                        "https://",
                        {"Fn::GetAtt": [plain.logical_id(plain.stack.distribution), "DomainName"]},
                    ],
                ]
            }
        },
    )


def test_without_a_custom_domain_there_are_no_aliases(plain: Built) -> None:
    assert "Aliases" not in plain.distribution_config


def test_a_custom_domain_is_served_with_its_certificate_and_tls_1_2(custom: Built) -> None:
    config = custom.distribution_config
    assert (config["Aliases"], config["ViewerCertificate"]) == (
        [DOMAIN],
        {
            "AcmCertificateArn": CERTIFICATE,
            "MinimumProtocolVersion": "TLSv1.2_2021",
            "SslSupportMethod": "sni-only",
        },
    )


def test_with_a_custom_domain_the_url_output_is_the_domain(custom: Built) -> None:
    custom.template.has_output("Url", {"Value": f"https://{DOMAIN}"})


def test_a_domain_without_a_certificate_is_refused() -> None:
    with pytest.raises(ValueError, match=r"domain_name and deploy\.certificate_arn go together"):
        SiteStack(new_app(), "fleetboard-site", deploy=DeploySettings(domain_name=DOMAIN), env=ENV)


# --------------------------------------------------------------------------- caching


def _cache_policy(built: Built, behaviour: dict[str, Any]) -> dict[str, Any]:
    return built.by_ref(behaviour["CachePolicyId"])["Properties"]["CachePolicyConfig"]  # type: ignore[no-any-return]


def test_each_objects_cache_control_rules_its_caching(plain: Built) -> None:
    config = _cache_policy(plain, plain.behaviours[0])
    assert config["MinTTL"] == 0 and config["DefaultTTL"] <= 60
    assert config["MaxTTL"] >= 365 * 24 * 3600  # history/ objects are immutable for a year


def test_latest_json_is_never_cached_beyond_ten_seconds(plain: Built) -> None:
    assert _cache_policy(plain, plain.behaviour("latest.json"))["MaxTTL"] <= 10
    # nor what the page polls to learn that a newer pass is there
    assert _cache_policy(plain, plain.behaviour("version.json"))["MaxTTL"] <= 10


def test_the_cache_key_ignores_query_strings_cookies_and_headers(plain: Built) -> None:
    keys = [
        _cache_policy(plain, b)["ParametersInCacheKeyAndForwardedToOrigin"]
        for b in plain.behaviours
    ]
    assert {
        (
            k["QueryStringsConfig"]["QueryStringBehavior"],
            k["CookiesConfig"]["CookieBehavior"],
            k["HeadersConfig"]["HeaderBehavior"],
        )
        for k in keys
    } == {("none", "none", "none")}


# --------------------------------------------------------------------------- headers


def _security_headers(built: Built) -> dict[str, Any]:
    (policy_id,) = {json.dumps(b["ResponseHeadersPolicyId"]) for b in built.behaviours}
    policy = built.by_ref(json.loads(policy_id))
    return policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]  # type: ignore[no-any-return]


def test_every_behaviour_sends_the_same_security_headers(plain: Built) -> None:
    policies = {json.dumps(b.get("ResponseHeadersPolicyId")) for b in plain.behaviours}
    assert len(policies) == 1 and "null" not in policies


def test_csp_allows_only_what_the_page_loads(plain: Built) -> None:
    assert plain.csp == {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "connect-src": ["'self'"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
    }


def test_the_csp_needs_no_inline_allowance_hash_or_nonce(plain: Built) -> None:
    sources = [s for values in plain.csp.values() for s in values]
    assert not [s for s in sources if re.match(r"'(unsafe-|sha\d+-|nonce-)", s)]


def test_hsts_lasts_two_years_and_covers_subdomains(plain: Built) -> None:
    hsts = _security_headers(plain)["StrictTransportSecurity"]
    assert (hsts["AccessControlMaxAgeSec"], hsts["IncludeSubdomains"]) == (63072000, True)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ContentTypeOptions", {"Override": True}),
        ("FrameOptions", {"FrameOption": "DENY", "Override": True}),
        ("ReferrerPolicy", {"ReferrerPolicy": "no-referrer", "Override": True}),
    ],
    ids=["nosniff", "frames-denied", "no-referrer"],
)
def test_the_security_header_has_its_strict_value(
    plain: Built, header: str, expected: dict[str, Any]
) -> None:
    assert _security_headers(plain)[header] == expected


def test_every_security_header_overrides_the_origins(plain: Built) -> None:
    assert all(h["Override"] is True for h in _security_headers(plain).values())


# --------------------------------------------------------------------------- the page vs CSP


class _Loads(HTMLParser):
    """What a page makes the browser load, and anything that would need 'unsafe-inline'."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[tuple[str, str]] = []  # (CSP directive, URL)
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.inline += [f"<{tag} {k}=...>" for k in a if k == "style" or k.startswith("on")]
        self.inline += (
            [f"<a href={a['href']!r}>"] if a.get("href", "").startswith("javascript:") else []
        )
        if tag in ("style", "form", "base", "iframe", "object", "embed"):
            self.inline.append(f"<{tag}>")  # none of these belongs on the board
        elif tag == "script":
            if "src" in a:
                self.loads.append(("script-src", a["src"]))
            else:
                self._in_script = True
        elif tag == "link":
            rel = set(a.get("rel", "").lower().split())
            if rel == {"alternate"}:  # a feed the reader may open: the page loads nothing
                assert a.get("href", "").startswith(("feed.xml", "./")), a
                return
            directive = "style-src" if "stylesheet" in rel else "img-src" if "icon" in rel else None
            assert directive, f"<link rel={a.get('rel')!r}>: which CSP directive loads this?"
            self.loads.append((directive, a["href"]))
        elif "src" in a or "srcset" in a:
            self.loads.append(("img-src" if tag == "img" else "default-src", a.get("src", "")))

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("<script> with inline code")


def _allowed(csp: dict[str, list[str]], directive: str, url: str) -> bool:
    sources = csp.get(directive, csp["default-src"])
    parts = urlsplit(url)
    if parts.scheme == "data":
        return "data:" in sources
    same_origin = not parts.scheme and not parts.netloc
    return same_origin and "'self'" in sources


def _pages() -> Iterator[tuple[str, str]]:
    yield "index.html", render_page(document(demo_board()))
    yield "not-found.html", (STATIC / "not-found.html").read_text(encoding="utf-8")


PAGES = dict(_pages())


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_resource_the_page_loads_is_allowed_by_the_csp(plain: Built, page: str) -> None:
    parser = _Loads()
    parser.feed(PAGES[page])
    blocked = [(d, url) for d, url in parser.loads if not _allowed(plain.csp, d, url)]
    assert parser.loads and not blocked


@pytest.mark.parametrize("page", sorted(PAGES))
def test_the_page_has_no_inline_script_style_or_handler(page: str) -> None:
    parser = _Loads()
    parser.feed(PAGES[page])
    assert parser.inline == []


def test_every_fetch_in_board_js_is_allowed_by_connect_src(plain: Built) -> None:
    script = (STATIC / "board.js").read_text(encoding="utf-8")
    targets = re.findall(r"""\bfetch\(\s*["']([^"']+)["']""", script)
    assert targets and all(_allowed(plain.csp, "connect-src", t) for t in targets)


def test_board_js_needs_no_eval_or_inline_style() -> None:
    script = (STATIC / "board.js").read_text(encoding="utf-8")
    assert not re.search(
        r"\beval\(|new Function\(|\.innerHTML\b|\.setAttribute\(\s*['\"]style", script
    )


def test_everything_board_css_loads_is_allowed_by_the_csp(plain: Built) -> None:
    css = (STATIC / "board.css").read_text(encoding="utf-8")
    urls = re.findall(r"""url\(\s*["']?([^"')]+)""", css)
    imports = re.findall(r"""@import\s+(?:url\()?\s*["']([^"']+)""", css)
    assert all(_allowed(plain.csp, "img-src", u) for u in urls)
    assert all(_allowed(plain.csp, "style-src", u) for u in imports)


# --------------------------------------------------------------------------- auth seam


def test_every_behaviour_carries_the_edge_functions_given(guarded: Built) -> None:
    expected = [
        {"EventType": "viewer-request", "LambdaFunctionARN": AUTH_ARN},
        {"EventType": "viewer-response", "LambdaFunctionARN": HEADERS_ARN},
    ]
    assert len(guarded.behaviours) > 1  # the default and latest.json at least
    assert [b.get("LambdaFunctionAssociations") for b in guarded.behaviours] == [expected] * len(
        guarded.behaviours
    )


def test_without_edge_functions_no_behaviour_has_any(plain: Built) -> None:
    assert not any("LambdaFunctionAssociations" in b for b in plain.behaviours)


# --------------------------------------------------------------------------- reader policy


def test_the_reader_policy_reads_the_board_and_history_and_lists_only_events(
    plain: Built,
) -> None:
    document_ = plain.resource(plain.stack.reader_policy)["Properties"]["PolicyDocument"]
    board = plain.logical_id(plain.stack.bucket)
    gets = [s for s in document_["Statement"] if s["Sid"] == "ReadSnapshots"]
    grants = {
        (s["Effect"], action, r["Fn::Join"][1][0]["Fn::GetAtt"][0], r["Fn::Join"][1][1])
        for s in gets
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        for r in s["Resource"]
    }
    assert grants == {
        ("Allow", "s3:GetObject", board, "/latest.json"),
        ("Allow", "s3:GetObject", board, "/version.json"),
        ("Allow", "s3:GetObject", board, "/feed.xml"),
        ("Allow", "s3:GetObject", board, "/history/*"),
    }
    # Listing: the events log's day prefixes, nothing else of the bucket.
    [listing] = [s for s in document_["Statement"] if s["Sid"] != "ReadSnapshots"]
    assert (listing["Effect"], listing["Action"]) == ("Allow", "s3:ListBucket")
    assert listing["Resource"] == {"Fn::GetAtt": [board, "Arn"]}
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["history/events/*"]}}


def test_an_output_names_the_bucket(plain: Built) -> None:
    plain.template.has_output(
        "BucketName", {"Value": {"Ref": plain.logical_id(plain.stack.bucket)}}
    )


def test_an_output_exports_the_reader_policy_arn(plain: Built) -> None:
    plain.template.has_output(
        "ReaderPolicyArn",
        {
            "Value": {"Ref": plain.logical_id(plain.stack.reader_policy)},
            "Export": {"Name": "fleetboard-site-reader-policy-arn"},
        },
    )


# --------------------------------------------------------------------------- cdk-nag


def _findings(report: dict[str, Any]) -> list[str]:
    return [
        f"{v['severity']} {v['ruleName']} at {c['constructPath']}"
        for p in report["pluginReports"]
        for v in p["violations"]
        for c in v["violatingConstructs"]
    ]


def _nag(deploy: DeploySettings, outdir: Path) -> dict[str, Any]:
    """Synthesize with the AwsSolutions checks; the validation report, error or not."""
    app = new_app(outdir)
    SiteStack(app, "fleetboard-site", deploy=deploy, env=ENV)
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    try:
        app.synth()
    except Exception:  # jsii raises its own error type; the report says what failed
        report = json.loads((outdir / "validation-report.json").read_text())
        pytest.fail("cdk-nag errors:\n" + "\n".join(_findings(report)))
    return json.loads((outdir / "validation-report.json").read_text())  # type: ignore[no-any-return]


DEPLOYS = {"example": load(ROOT / "fleet.example.toml").deploy, "custom-domain": CUSTOM}


@pytest.fixture(scope="module", params=sorted(DEPLOYS))
def nag_report(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    return _nag(DEPLOYS[request.param], tmp_path_factory.mktemp(f"nag-{request.param}"))


def test_cdk_nag_finds_nothing_unacknowledged(nag_report: dict[str, Any]) -> None:
    # Warnings (CFR1, CFR2...) do not stop synth, so the report is read, not just the raise.
    assert _findings(nag_report) == []


def test_every_acknowledgment_sits_on_the_resource_it_concerns(nag_report: dict[str, Any]) -> None:
    acknowledged = [
        (v["acknowledgedAt"], c["constructPath"])
        for p in nag_report["pluginReports"]
        for v in p["suppressedViolations"]
        for c in v["violatingConstructs"]
    ]
    assert all(path.startswith(at + "/") and at != "fleetboard-site" for at, path in acknowledged)

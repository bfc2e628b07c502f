"""The aws source when the answer is not AWS's, when the collector cannot see, and when an
exception carries request detail: each is a failure of the source that says so, never an
empty world, and no reason quotes a header, a signature or a key."""

from __future__ import annotations

import dataclasses
import errno
import time
from collections.abc import Callable
from typing import Any

import pytest
import urllib3.util.connection
from tests.integration.aws.fleet import (
    CountingProxy,
    collect,
    environment,
    facts_of,
    failure_of,
    inventory,
    prod_only,
)

from fleetboard.demo.aws_world import DEMO_CREDENTIALS
from fleetboard.demo.hosts import refused_port
from fleetboard.sources.aws import DESCRIBE_ADDRESSES, LIST_COMMANDS, LIST_RECORD_SETS
from fleetboard.sources.awsapi import (
    BODY_CAP_BYTES,
    AwsClientFactory,
    StaticCredentials,
    make_aws_client_factory,
)

PORTAL = b"<!DOCTYPE html><html><body>Welcome to Hotel WiFi: please log in</body></html>"
ZONE_ID = "Z09723983CFJOHAE3VC65"

# --------------------------------------------------------------------------- not AWS's answer


@pytest.mark.parametrize(
    ("call", "status", "content_type", "body", "said"),
    [
        (
            "ec2:DescribeAddresses",
            200,
            "text/html; charset=utf-8",
            PORTAL,
            "ec2:DescribeAddresses answered 200 with text/html, not AWS's XML: \"<!DOCTYPE html>"
            '<html><body>Welcome to Hotel WiFi: please lo…"',
        ),
        (
            "ec2:DescribeAddresses",
            200,
            "text/xml",
            b"<?xml version='1.0'?><SomethingElse><x/></SomethingElse>",
            "ec2:DescribeAddresses answered 200 with XML rooted at <SomethingElse>, not AWS's "
            "<DescribeAddressesResponse>",
        ),
        (
            "ec2:DescribeAddresses",
            200,
            "application/json",
            b"{}",
            'ec2:DescribeAddresses answered 200 with application/json, not AWS\'s XML: "{}"',
        ),
        (
            "ec2:DescribeAddresses",
            200,
            "text/xml",
            b"<DescribeAddressesResponse></DescribeAddressesResponse>",
            "ec2:DescribeAddresses answered without Addresses, which AWS always sends",
        ),
        (
            "ec2:DescribeInstances",
            200,
            "text/html",
            PORTAL,
            "ec2:DescribeInstances answered 200 with text/html, not AWS's XML",
        ),
        (
            "route53:ListResourceRecordSets",
            200,
            "",
            b"",
            "route53:ListResourceRecordSets answered 200 with no content type, not AWS's XML: "
            "an empty body",
        ),
        (
            "ec2:DescribeAddresses",
            502,
            "text/html",
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            "ec2:DescribeAddresses answered 502 with text/html, not AWS's XML: \"<html><body>"
            '<h1>502 Bad Gateway</h1></body></html>"',
        ),
    ],
    ids=["html-200", "other-xml", "json-for-xml", "no-addresses", "html-instances", "empty", "502"],
)
def test_an_answer_that_is_not_aws_s_fails_the_source_and_is_never_an_empty_world(
    moto_url: str,
    proxy: CountingProxy,
    factories: Callable[..., AwsClientFactory],
    call: str,
    status: int,
    content_type: str,
    body: bytes,
    said: str,
) -> None:
    inv = prod_only(moto_url, proxy.url)
    proxy.answer_call(call, status, content_type, body)

    failure = failure_of(collect(inv, factories(inv)))

    assert failure.reason.startswith(said), failure.reason
    assert failure.reason.endswith(
        f"check that aws.endpoint_url ({proxy.url}) in fleet.toml is AWS's"
    )
    assert not failure.blind
    assert proxy.calls.count(call) == 1  # a foreign answer is not retried


def test_a_list_commands_answer_that_is_not_aws_s_leaves_the_other_facts_standing(
    moto_url: str, proxy: CountingProxy, factories: Callable[..., AwsClientFactory]
) -> None:
    inv = prod_only(moto_url, proxy.url)
    proxy.answer_call(LIST_COMMANDS, 200, "text/html", PORTAL)

    facts = facts_of(collect(inv, factories(inv)))

    assert facts.addresses and facts.instances
    assert facts.deploys is None
    assert facts.deploy_error is not None
    assert facts.deploy_error.startswith(
        "ssm:ListCommands answered 200 with text/html, not AWS's JSON"
    )


def test_a_json_answer_that_is_not_an_object_is_not_aws_s(
    moto_url: str, proxy: CountingProxy, factories: Callable[..., AwsClientFactory]
) -> None:
    inv = prod_only(moto_url, proxy.url)
    proxy.answer_call(LIST_COMMANDS, 200, "application/x-amz-json-1.1", b"[1, 2]")

    facts = facts_of(collect(inv, factories(inv)))

    assert facts.deploy_error is not None
    assert facts.deploy_error.startswith(
        'ssm:ListCommands answered 200 with JSON that is not an object: "[1, 2]"'
    )


# --------------------------------------------------------------------------- the collector blind


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """A machine with no AWS credentials anywhere, and no instance metadata to ask."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_no_credentials_on_the_machine_is_blind_and_says_what_to_do(
    proxy: CountingProxy, no_aws_credentials: None
) -> None:
    inv = inventory(proxy.url, ZONE_ID, [environment("prod")])
    factory = make_aws_client_factory(inv.aws)  # the default chain, which finds nothing
    try:
        failure = failure_of(collect(inv, factory))
    finally:
        factory.close()

    assert failure.blind
    assert failure.reason == (
        "ec2:DescribeAddresses not sent: no AWS credentials on this machine "
        "(NoCredentialsError): set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) "
        "or run `aws sso login`; on Lambda, check the function's role"
    )
    assert proxy.calls == []


def test_an_endpoint_name_that_does_not_resolve_is_blind(
    unresolvable: str, factories: Callable[..., AwsClientFactory]
) -> None:
    inv = inventory(f"http://{unresolvable}:4566", ZONE_ID, [environment("prod")])

    failure = failure_of(collect(inv, factories(inv)))

    assert failure.blind
    assert failure.reason == (
        "ec2:DescribeAddresses not answered after 3 attempts: the collector cannot resolve "
        "AWS's endpoint (no DNS on this machine?): check its network and resolver "
        f"(http://{unresolvable}:4566)"
    )


def test_no_route_to_the_endpoint_is_blind(
    monkeypatch: pytest.MonkeyPatch, factories: Callable[..., AwsClientFactory]
) -> None:
    real = urllib3.util.connection.create_connection

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        if address[0] == "192.0.2.10":  # TEST-NET-1: never routed; refused here before any send
            raise OSError(errno.ENETUNREACH, "Network is unreachable")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    inv = inventory("http://192.0.2.10:4566", ZONE_ID, [environment("prod")])

    failure = failure_of(collect(inv, factories(inv)))

    assert failure.blind
    assert "not answered after 3 attempts: no route from the collector to AWS's endpoint" in (
        failure.reason
    )


def test_a_refused_connection_is_not_blind(factories: Callable[..., AwsClientFactory]) -> None:
    inv = inventory(f"http://127.0.0.1:{refused_port()}", ZONE_ID, [environment("prod")])
    failure = failure_of(collect(inv, factories(inv)))
    assert not failure.blind


# --------------------------------------------------------------------------- the deadline


def test_a_read_in_flight_is_cut_at_the_pass_deadline_not_at_the_read_timeout(
    moto_url: str, proxy: CountingProxy, factories: Callable[..., AwsClientFactory]
) -> None:
    # A 5 s read timeout, a 1 s deadline: Route 53 never answers in time.
    inv = prod_only(moto_url, proxy.url, read_timeout_s=5.0)
    proxy.hold(LIST_RECORD_SETS, 10.0)  # released when the next test clears the proxy

    started = time.monotonic()
    failure = failure_of(collect(inv, factories(inv), deadline_s=1.0))
    elapsed = time.monotonic() - started

    assert failure.reason.startswith(
        "route53:ListResourceRecordSets had no complete answer by the pass deadline after 1 "
        "attempt (ReadTimeoutError)"
    )
    assert elapsed < 2.5  # the read timeout alone would be 5 s


# --------------------------------------------------------------------------- no request detail


def test_an_exception_quoting_the_signed_request_never_reaches_the_reason(
    proxy: CountingProxy, factories: Callable[..., AwsClientFactory]
) -> None:
    # A region with a newline (config validation refuses it; the source must hold anyway)
    # makes urllib3 refuse the SigV4 Authorization header, and quote it in the exception.
    inv = inventory(proxy.url, ZONE_ID, [environment("prod")])
    inv = dataclasses.replace(inv, aws=dataclasses.replace(inv.aws, region="us-east-1\n"))
    keys = StaticCredentials(
        "AKIAFLEETBOARDPLANT1", "planted/secret+key0123456789", "tok3n-planted"
    )

    failure = failure_of(collect(inv, factories(inv, keys)))

    assert failure.reason.startswith(f"{DESCRIBE_ADDRESSES} failed (HTTPClientError)")
    for planted in (
        "AKIAFLEETBOARDPLANT1",
        "planted",
        "Credential=testing",
        "Signature=",
        "SignedHeaders=content",
        "aws4_request",
    ):
        assert planted not in failure.reason, failure.reason
    assert "AWS4-HMAC-SHA256 ***" in failure.reason
    assert DEMO_CREDENTIALS.secret_access_key not in failure.reason


def test_a_malformed_answer_is_a_failure_that_never_quotes_the_body(
    moto_url: str, proxy: CountingProxy, factories: Callable[..., AwsClientFactory]
) -> None:
    inv = prod_only(moto_url, proxy.url)
    truncated = (
        b'<?xml version="1.0" encoding="UTF-8"?><DescribeAddressesResponse xmlns="x">'
        b"<addressesSet><item><publicIp>3.214."
    )
    proxy.answer_call(DESCRIBE_ADDRESSES, 200, "text/xml", truncated)

    failure = failure_of(collect(inv, factories(inv)))

    assert failure.reason == (
        "ec2:DescribeAddresses answered with a malformed body that could not be parsed "
        f"(ResponseParserError) — check that aws.endpoint_url ({proxy.url}) in fleet.toml is "
        "AWS's"
    )


def test_an_oversized_answer_is_a_failure_and_is_not_parsed(
    moto_url: str, proxy: CountingProxy, factories: Callable[..., AwsClientFactory]
) -> None:
    inv = prod_only(moto_url, proxy.url)
    head = b'<?xml version="1.0"?><DescribeAddressesResponse xmlns="x">'
    body = head + b" " * (BODY_CAP_BYTES + 1)
    proxy.answer_call(DESCRIBE_ADDRESSES, 200, "text/xml", body)

    failure = failure_of(collect(inv, factories(inv)))

    assert failure.reason.startswith(
        f"ec2:DescribeAddresses answered 200 with {len(body)} bytes, over the {BODY_CAP_BYTES} "
        "byte cap"
    )


def test_a_profile_the_machine_does_not_have_is_blind(
    proxy: CountingProxy, no_aws_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "fleetboard-nowhere")
    inv = inventory(proxy.url, ZONE_ID, [environment("prod")])
    factory = make_aws_client_factory(inv.aws)
    try:
        failure = failure_of(collect(inv, factory))
    finally:
        factory.close()

    assert failure.blind
    assert failure.reason.startswith(
        "ec2:DescribeAddresses not sent: the AWS credentials on this machine could not be "
        "loaded (ProfileNotFound): The config profile (fleetboard-nowhere) could not be found"
    )
    assert proxy.calls == []

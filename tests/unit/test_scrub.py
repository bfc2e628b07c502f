"""text.scrub, the one function every source passes an exception's words through: what it
takes out (headers, signatures, credentials, URL paths, queries, userinfo, given secrets)
and what it must leave alone (the scheme and host, and the words a person acts on)."""

from __future__ import annotations

import pytest

from fleetboard.secrets import url_secrets
from fleetboard.text import REASON_CHARS, mask, scrub

SIGNATURE = "e1b4bff83a4be3d15229bd7ea8c8b820ea97064fc933959c37a431eb3bd7554e"

#: Credentials an exception's words and a logged line (text.mask, test_logs.py) both lose,
#: the same way: (id, what came in, what may be shown).
CREDENTIALS: list[tuple[str, str, str]] = [
    (
        "sigv4-header-in-bytes-repr",
        "An HTTP Client raised an unhandled exception: Invalid header value b'AWS4-HMAC-SHA256 "
        "Credential=AKIAFLEETBOARDPLANT1/20261204/us-east-1\\n/ec2/aws4_request, "
        f"SignedHeaders=content-type;host;x-amz-date, Signature={SIGNATURE}'",
        "An HTTP Client raised an unhandled exception: Invalid header value "
        "b'AWS4-HMAC-SHA256 ***'",
    ),
    (
        "sigv4-parts-alone",
        f"Credential=ASIAFLEETBOARDPLANT2/x, Signature={SIGNATURE}",
        "***, ***",
    ),
    (
        "security-token-in-query",
        "asked ?X-Amz-Security-Token=IQoJb3JpZ2luX2Vj&X-Amz-Date=1",
        "asked ?<credential header omitted>",
    ),
    (
        "header-dict-repr",
        "{'Authorization': 'token ghp_plantedplantedplanted0123', "
        "'X-Amz-Security-Token': 'FwoGZXIvYXdzEJr//////////wEaDO'}",
        "{<credential header omitted>, <credential header omitted>}",
    ),
    ("bearer-in-prose", "sent Bearer abc123def456 upstream", "sent Bearer *** upstream"),
    ("github-token", "bad ghp_0123456789abcdefghijABCDEFGHIJ", "bad ***"),
    ("fine-grained-github-token", "bad github_pat_11ABCDEFG0123456789_abcdefXYZ", "bad ***"),
    ("access-key-id", "key AKIAIOSFODNN7EXAMPLE denied", "key <access key id> denied"),
    (
        "secret-key-pair",
        "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY region=us-east-1",
        "aws_secret_access_key=*** region=us-east-1",
    ),
    ("password-pair", "login password=hunter2 failed", "login password=*** failed"),
    ("jwt", "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig_part ok", "token *** ok"),
]

#: What else is taken out of an exception's words: (id, what came in, what may be shown).
SCRUBBED: list[tuple[str, str, str]] = [
    (
        "signed-header-line",
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIAFLEETBOARDPLANT1/20261204/us-east-1/ec2/"
        f"aws4_request, SignedHeaders=host;x-amz-date, Signature={SIGNATURE}\nX-Amz-Date: 1",
        "<credential header omitted> X-Amz-Date: 1",
    ),
    (
        "presigned-url",
        "GET https://bucket.s3.amazonaws.com/key?X-Amz-Credential=AKIA1&X-Amz-Signature=abc done",
        "GET https://bucket.s3.amazonaws.com done",
    ),
    (
        "authorization-header-line",
        "Authorization: Bearer planted-token-123456\nAccept: */*",
        "<credential header omitted> Accept: */*",
    ),
    (
        "url-path-query-userinfo",
        "POST https://user:pw@eth-mainnet.g.alchemy.com/v2/PLANTEDKEY?apikey=Q#f failed",
        "POST https://eth-mainnet.g.alchemy.com failed",
    ),
    (
        "url-port-kept",
        'Could not connect to the endpoint URL: "http://127.0.0.1:4566/"',
        'Could not connect to the endpoint URL: "http://127.0.0.1:4566"',
    ),
    ("ipv6-host", "to http://[::1]:8545/v3/KEY down", "to http://[::1]:8545 down"),
    (
        "urllib3-url-field",
        "HTTPSConnectionPool(host='api.github.com', port=443): Max retries exceeded with url: "
        "/repos/o/r/actions/runs?per_page=50 (Caused by ReadTimeoutError)",
        "HTTPSConnectionPool(host='api.github.com', port=443): Max retries exceeded with url: "
        "(path omitted) (Caused by ReadTimeoutError)",
    ),
    ("bare-query", "asked /rpc?key=PLANTED&x=1 then", "asked /rpc?*** then"),
    (
        "encoded-authorization-message",
        "not authorized. Encoded authorization failure message: AbCdEf0123-_xyz",
        "not authorized. Encoded authorization failure message: (omitted)",
    ),
    (
        "long-opaque-token",
        "session IQoJb3JpZ2luX2VjEJr0123456789abcdefghijklmnopqrstuvwxyz expired",
        "session *** expired",
    ),
    ("newlines-and-controls", "line one\r\nline\ttwo\x00\x1b[31m", "line one line two??[31m"),
    ("escaped-newline-from-repr", "b'value\\nmore'", "b'value more'"),
]

#: What must stay as it is, the words a person acts on: (id, text).
KEPT: list[tuple[str, str]] = [
    ("aws-prose", "The security token included in the request is invalid."),
    ("github-prose", "answered 403 Forbidden: check the token's access to o/r (Actions: read)"),
    (
        "call-with-path",
        "GET /repos/litentry/agentKeys/actions/workflows/e2e-ci.yml/runs answered 404",
    ),
    ("content-type", "answered 200 with text/html; charset=utf-8"),
    ("request-id-kept", "RequestId: 3f1a2b4c-1111-2222-3333-444455556666"),
    (
        "throttled",
        "ec2:DescribeAddresses throttled after 3 attempts (RequestLimitExceeded): Request limit "
        "exceeded.",
    ),
    ("command", "run `aws sso login`; on Lambda"),
]

CASES = CREDENTIALS + SCRUBBED + [(name, text, text) for name, text in KEPT]


@pytest.mark.parametrize(
    ("text", "shown"), [(t, s) for _, t, s in CASES], ids=[c[0] for c in CASES]
)
def test_scrub_takes_out_request_detail_and_keeps_what_a_person_acts_on(
    text: str, shown: str
) -> None:
    assert scrub(text) == shown
    if shown != text:  # what a grep for leaked request detail looks for is gone too
        for detail in ("Authorization", "Signature=", "Credential=", "X-Amz-Security-Token"):
            assert detail not in scrub(text)


@pytest.mark.parametrize(
    ("text", "shown"), [c[1:] for c in CREDENTIALS], ids=[c[0] for c in CREDENTIALS]
)
def test_a_logged_line_loses_a_credential_as_an_exception_s_words_do(text: str, shown: str) -> None:
    assert mask(text) == shown


@pytest.mark.parametrize(
    ("text", "secrets", "shown"),
    [
        ("the key PLANTED-1 and PLANTED-12", ["PLANTED-1", "PLANTED-12"], "the key *** and ***"),
        ("at /v3/abcd?x=1", ["/v3/abcd?x=1", "/v3/abcd"], "at ***"),
        ("a / b", ["/"], "a / b"),  # too short to be a secret: replacing it would shred text
        ("nothing here", ["", "absent-secret"], "nothing here"),
    ],
    ids=["longest-first", "path-and-query", "short-ignored", "empty-and-absent"],
)
def test_given_secrets_are_hidden_wherever_they_appear(
    text: str, secrets: list[str], shown: str
) -> None:
    assert scrub(text, secrets) == shown


def test_a_reason_is_capped_with_an_ellipsis() -> None:
    shown = scrub("word " * 200)
    assert len(shown) == REASON_CHARS and shown.endswith("…")
    assert scrub("abcdef", limit=4) == "abc…"


@pytest.mark.parametrize(
    ("url", "hidden"),
    [
        ("http://127.0.0.1:8545", ()),
        ("https://rpc.heima.network/", ()),
        ("https://rpc.example.com/v3/KEY", ("/v3/KEY",)),
        ("https://rpc.example.com/?apikey=KEY", ("/?apikey=KEY", "apikey=KEY")),
        ("https://user:secret@rpc.example.com", ("user:secret@", "user:secret", "secret")),
    ],
    ids=["keyless", "root-path", "key-in-path", "key-in-query", "userinfo"],
)
def test_url_secrets_are_the_parts_past_the_host(url: str, hidden: tuple[str, ...]) -> None:
    assert url_secrets(url) == hidden
    shown = scrub(f"the RPC at {url} failed", url_secrets(url))
    assert shown.startswith("the RPC at http")
    for part in hidden:
        assert part not in shown


def test_a_secret_that_cannot_be_read_raises_scrubbed_words() -> None:
    # A region with a newline: urllib3 refuses the signed Authorization header before anything
    # is sent, and botocore quotes it in the exception. Only scrubbed words may go on.
    import boto3

    from fleetboard.secrets import SecretUnreadable, read_secret

    client = boto3.client(
        "secretsmanager",
        region_name="us-east-1\n",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="AKIAFLEETBOARDPLANT3",
        aws_secret_access_key="planted-secret-key",
    )
    try:
        with pytest.raises(SecretUnreadable) as raised:
            read_secret("fleetboard/github-token", client=client)
    finally:
        client.close()
    words = str(raised.value)
    assert words.startswith("secret fleetboard/github-token could not be read: ")
    for detail in ("AKIAFLEETBOARDPLANT3", "Signature=", "Credential=", "Authorization"):
        assert detail not in words, words
    assert raised.value.__suppress_context__

"""The secret grep: plant secrets everywhere a collector can find them, break every source
every way the fault matrix knows, and two more (an endpoint that echoes the request back in
its error; a region with a newline, which once put the signed headers into a reason), and
look for each secret in everything the passes left behind.

Planted: a GitHub token (ctx secret and $GITHUB_TOKEN), an RPC URL with an API key in its
path and its query (ctx secret and $FLEETBOARD_RPC_URL), AWS keys with a session token (the
client's credentials and $AWS_*), and a webhook URL (a ctx secret and the environment).
Searched: every file the passes wrote (latest.json, history/*.json, index.html, state/*),
stdout and stderr, every log record with its traceback, and every reason of every board.
None may hold a planted secret, nor `Authorization`, `Signature=`, `Credential=` or
`X-Amz-Security-Token`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from tests.integration.faults.conftest import Outcome, Rig, Wiring
from tests.integration.faults.servers import FaultServer, echo
from tests.integration.faults.staging import (
    ANSWERS,
    HEALTHY_HOST,
    JSON,
    XML,
    host_fault,
    service_fault,
)

from fleetboard.publish import LocalPublisher
from fleetboard.sources.awsapi import StaticCredentials

GITHUB_TOKEN = "ghp_PlantedGithubToken7Qx2Lm9Vb4Nc8Zr1Ty6"
RPC_PATH_KEY = "PlantedRpcPathKey3f9a1c7e5b"
RPC_QUERY_KEY = "PlantedRpcQueryKey8d2b6f0a4c"
RPC_PATH = f"/v3/{RPC_PATH_KEY}?apikey={RPC_QUERY_KEY}"
AWS_KEY_ID = "AKIAPLANTEDKEY7QX2LM"
AWS_SECRET_KEY = "PlantedAwsSecretKey/7Qx2Lm9Vb4Nc8Zr1Ty6+Wq"
AWS_SESSION_TOKEN = "IQoJb3JpZ2luX2VjEPlantedAwsSessionToken0Vb4Nc8Zr1Ty6Wq3Ej5Hk7Uo9Pa2Sd4Fg6Jl8"
WEBHOOK = "https://hooks.slack.com/services/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"

SECRETS = (
    GITHUB_TOKEN,
    RPC_PATH_KEY,
    RPC_QUERY_KEY,
    AWS_KEY_ID,
    AWS_SECRET_KEY,
    AWS_SESSION_TOKEN,
    WEBHOOK,
    "PlantedWebhookSecret",
)
#: Request details that must never reach an output, whoever's they are.
REQUEST_DETAILS = ("Authorization", "Signature=", "Credential=", "X-Amz-Security-Token")

#: An endpoint that quotes what it got (the signed Authorization header, the session token,
#: the path and query) in its error answer, first thing, in each service's own error format.
ECHOES = {
    "aws": echo(
        403,
        '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error>'
        "<Code>InvalidClientTokenId</Code><Message>The security token {X-Amz-Security-Token} "
        "included in the request is invalid; it was signed {Authorization}; the request was "
        "{request}</Message>"
        "</Error></Errors><RequestID>x</RequestID></Response>",
        XML,
    ),
    "github": echo(
        401, '{"message": "Bad credentials: {Authorization} for {path}; you sent {request}"}', JSON
    ),
    "chain": echo(
        200,
        '{"jsonrpc": "2.0", "id": 0, "error": {"code": -32001, "message": "no such key: {path}"}}',
        JSON,
    ),
    "host": echo(500, "<html>upstream said: {request}</html>", "text/html"),
}

FAULTS = (
    "healthy",
    "refused",
    "silent",
    "trickle",
    "500",
    "wrong-content",
    "wrong-shape",
    "malformed",
    "oversized",
    "throttled",
    "dns",
    "echo",
    "bad-region",
)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, FaultServer]]:
    """One plain fault server per service, so aws, github and chain all fail in one pass."""
    with FaultServer() as aws, FaultServer() as github, FaultServer() as chain:
        yield {"aws": aws, "github": github, "chain": chain}


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same secrets in the environment, where a careless collector could find them."""
    for name, value in {
        "GITHUB_TOKEN": GITHUB_TOKEN,
        "FLEETBOARD_FAULTS_UNSET_TOKEN": GITHUB_TOKEN,
        "FLEETBOARD_RPC_URL": f"http://rpc.example{RPC_PATH}",
        "AWS_ACCESS_KEY_ID": AWS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET_KEY,
        "AWS_SESSION_TOKEN": AWS_SESSION_TOKEN,
        "FLEETBOARD_ALERT_WEBHOOK": WEBHOOK,
    }.items():
        monkeypatch.setenv(name, value)


def _stage(rig: Rig, servers: dict[str, FaultServer], fault: str) -> Wiring:
    """Every source broken by `fault` at once, each behind its own server."""
    credentials = StaticCredentials(AWS_KEY_ID, AWS_SECRET_KEY, AWS_SESSION_TOKEN)
    wiring = replace(
        rig.healthy(), credentials=credentials, github_token=GITHUB_TOKEN, webhook=WEBHOOK
    )
    rig.tls.behave(HEALTHY_HOST)
    if fault == "healthy":
        return wiring
    if fault == "bad-region":  # botocore puts it in the signed headers; http.client refuses
        return replace(wiring, region="us-east-1\n")
    urls: dict[str, str] = {}
    for source, server in servers.items():
        if fault == "echo":
            server.behave(ECHOES[source])
            urls[source] = server.url + (RPC_PATH if source == "chain" else "")
        else:
            path = RPC_PATH if source == "chain" else None
            urls[source] = service_fault(source, fault, server, path)
    if fault == "echo":
        rig.tls.behave(ECHOES["host"])
        address: str | None = rig.tls.address
    else:
        address = host_fault(fault, rig.tls, rig.tls.address)
    return replace(
        wiring,
        aws_url=urls["aws"],
        github_url=urls["github"],
        rpc_url=urls["chain"],
        faulty_address=address,
    )


def _log_lines(outcome: Outcome) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in outcome.records)


def test_no_secret_reaches_any_output(
    rig: Rig,
    servers: dict[str, FaultServer],
    planted: None,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "board"
    publisher = LocalPublisher(out)  # one board folder: history and state accumulate
    seen: dict[str, str] = {}  # where -> text, for everything that is not a file
    requests_before = {s: server.requests for s, server in servers.items()}
    for fault in FAULTS:
        wiring = _stage(rig, servers, fault)
        try:
            outcome = rig.run(wiring, out, state=publisher)
        finally:
            rig.hang_up()
            for server in servers.values():
                server.hang_up()
        assert outcome.error is None, f"{fault}: the pass raised {outcome.error!r}"
        assert outcome.result is not None
        seen[f"{fault}: log records"] = _log_lines(outcome)
        seen[f"{fault}: the pass's error"] = outcome.result.error or ""
        seen[f"{fault}: the board"] = repr(outcome.result.board)
    captured = capfd.readouterr()
    seen["stdout"], seen["stderr"] = captured.out, captured.err
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        seen[str(path.relative_to(out))] = path.read_text(errors="replace")

    # The secrets really went out: the grep would prove nothing otherwise.
    sent = b"\n".join(b"\n".join(server.seen) for server in servers.values())
    assert all(server.requests > requests_before[s] for s, server in servers.items())
    assert AWS_KEY_ID.encode() in sent and AWS_SESSION_TOKEN.encode() in sent
    assert GITHUB_TOKEN.encode() in sent and RPC_PATH_KEY.encode() in sent
    assert {"latest.json", "index.html"} <= set(seen) and any(
        k.startswith("history/") for k in seen
    )

    found = [
        f"{where}: {needle!r} in …{_around(text, needle)}…"
        for where, text in seen.items()
        for needle in (*SECRETS, *REQUEST_DETAILS)
        if re.search(re.escape(needle), text, re.IGNORECASE)
    ]
    assert not found, "secrets or request details in the output:\n  " + "\n  ".join(found)


def _around(text: str, needle: str) -> str:
    at = text.lower().find(needle.lower())
    return text[max(0, at - 80) : at + len(needle) + 80].replace("\n", " ")


def test_every_fault_of_the_matrix_is_walked() -> None:
    """The grep walks the matrix's faults: a fault added there must be added here."""
    matrix_faults = {fault for (_, fault) in ANSWERS} | {"refused", "silent", "dns"}
    assert matrix_faults - {"throttled-429"} <= set(FAULTS)

"""The /healthz body rule as a table: body -> status and reason, and what the summary quotes.

Green only on a positive, unambiguous signal: the whole body is `ok`, or a JSON object whose
`ok` is true and nothing in it says otherwise (rules/verdicts.py, HEALTH_FIELDS).
"""

from __future__ import annotations

import json

import pytest
from tests.observed import exchange

from fleetboard.inventory import READY_PATH
from fleetboard.model import Status
from fleetboard.rules.verdicts import (
    QUOTE_CAP,
    classify_health,
    classify_readyz,
    json_object,
    visible,
)

SLOW_MS = 2000.0
GREEN, AMBER, RED = Status.GREEN, Status.AMBER, Status.RED


# (id, body, status, reason): reason "" for green, else the exact reason.
BODIES = [
    # --- text
    ("ok", "ok", GREEN, ""),
    ("OK and a newline", "OK\n", GREEN, ""),
    ("ok in HTTP whitespace", " \t ok \r\n", GREEN, ""),
    ("Ok mixed case", "Ok", GREEN, ""),
    ("not ok", "not ok", RED, "body: not ok"),
    ("ok not", "ok not", RED, "body: not ok"),
    ("okay", "okay", RED, "body: not ok"),
    ("ok with a full stop", "ok.", RED, "body: not ok"),
    ("ok: false", "ok: false", RED, "body: not ok"),
    ("error: service not ok", "error: service not ok", RED, "body: not ok"),
    ("empty", "", RED, "body: not ok"),
    ("whitespace only", " \r\n\t ", RED, "body: not ok"),
    ("HTML page containing ok", "<html><body><p>ok</p></body></html>", RED, "body: not ok"),
    (
        "nginx 200 page",
        "<html><center>Welcome to nginx! all ok</center></html>",
        RED,
        "body: not ok",
    ),
    ("NUL after ok", "ok\x00", RED, "body: not ok"),
    ("NUL bytes around ok", "\x00ok\x00", RED, "body: not ok"),
    ("a unit separator is not whitespace here", "\x1fok", RED, "body: not ok"),
    ("Kelvin sign K lower-cases to k", "o\u212a", RED, "body: not ok"),
    ("fullwidth OK", "\uff2f\uff2b", RED, "body: not ok"),
    ("ok then JSON false", '{"ok": false} ok', RED, "body: not ok"),
    ("a 10 kB body of ok", "ok " * 3400, RED, "body: not ok"),
    # --- JSON that is not an object
    ('["ok"]', '["ok"]', RED, "body: not ok"),
    ("[]", "[]", RED, "body: not ok"),
    ("[true]", "[true]", RED, "body: not ok"),
    ('a JSON string "ok"', '"ok"', RED, "body: not ok"),
    ("JSON true", "true", RED, "body: not ok"),
    ("JSON null", "null", RED, "body: not ok"),
    ("nested too deep to parse", "[" * 100_000, RED, "body: not ok"),
    # --- JSON objects
    ('{"ok":true}', '{"ok":true}', GREEN, ""),
    (
        "a worker's real body",
        '{"ok":true,"vault_bucket":"agentkeys-vault-test-4290","chain_profile":"heima",'
        '"version":"0.1.0"}',
        GREEN,
        "",
    ),
    ("bundler ready", '{"ok":true,"ready":true}', GREEN, ""),
    ("status agrees", '{"ok":true,"status":"OK"}', GREEN, ""),
    ("empty errors agree", '{"ok":true,"errors":[],"error":null}', GREEN, ""),
    ("healthy agrees", '{"ok":true,"healthy":true}', GREEN, ""),
    ("ok false", '{"ok": false}', RED, "body: ok is not true"),
    ('ok is the string "true"', '{"ok":"true"}', RED, "body: ok is not true"),
    ("ok is 1", '{"ok":1}', RED, "body: ok is not true"),
    ("ok is null", '{"ok":null}', RED, "body: ok is not true"),
    ("no ok field", '{"status":"fine"}', RED, "body: ok is not true"),
    ("OK in capitals is another key", '{"OK":true}', RED, "body: ok is not true"),
    ("empty object", "{}", RED, "body: ok is not true"),
    ("status error", '{"ok":true,"status":"error"}', RED, "body: contradicts ok"),
    ("status down", '{"ok":true,"status":"down"}', RED, "body: contradicts ok"),
    ("status not a string", '{"ok":true,"status":1}', RED, "body: contradicts ok"),
    ("healthy false", '{"ok":true,"healthy":false}', RED, "body: contradicts ok"),
    ("healthy 1 is not true", '{"ok":true,"healthy":1}', RED, "body: contradicts ok"),
    ("an error", '{"ok":true,"error":"db down"}', RED, "body: contradicts ok"),
    ("errors listed", '{"ok":true,"errors":["disk full"]}', RED, "body: contradicts ok"),
    ("ok twice, last true", '{"ok":false,"ok":true}', RED, "body: ambiguous"),
    ("ok twice, both true", '{"ok":true,"ok":true}', RED, "body: ambiguous"),
    (
        "bundler not ready is amber",
        '{"ok":true,"ready":false,"missing":["submitter"]}',
        AMBER,
        "body: not ready",
    ),
    ("degraded is amber", '{"ok":true,"degraded":true}', AMBER, "body: degraded"),
    (
        "red beats amber",
        '{"ok":true,"ready":false,"status":"error"}',
        RED,
        "body: contradicts ok",
    ),
    ("not ready and ok false is red", '{"ok":false,"ready":false}', RED, "body: ok is not true"),
]


@pytest.mark.parametrize(
    ("body", "status", "reason"), [c[1:] for c in BODIES], ids=[c[0] for c in BODIES]
)
def test_a_health_body_gets_the_status_the_rule_gives_it(
    body: str, status: Status, reason: str
) -> None:
    got_status, got_reason, summary = classify_health(exchange(body), SLOW_MS)
    assert (got_status, got_reason) == (status, reason)
    assert summary
    assert summary.isprintable(), summary  # no raw control or invisible character, ever


def test_the_summary_quotes_the_body_capped_and_with_control_characters_made_visible() -> None:
    _, _, summary = classify_health(exchange("not ok\x00\x1b[31m\u202e" + "x" * 500), SLOW_MS)
    assert "'not ok\\x00\\x1b[31m\\u202e" in summary
    assert "…" in summary
    assert len(summary) < 60 + QUOTE_CAP  # the quote is capped; the sentence around it is short


def test_a_contradiction_is_quoted_as_the_field_and_value_that_say_so() -> None:
    _, _, summary = classify_health(exchange('{"ok":true,"status":"error"}', 200), SLOW_MS)
    assert summary == 'HTTP 200 in 12 ms, ok is true but \'"status": "error"\''


def test_a_not_ready_bundler_still_says_why() -> None:
    body = json.dumps({"ok": True, "ready": False, "reason": "submitter is OUT OF GAS"})
    assert classify_health(exchange(body), SLOW_MS) == (
        AMBER,
        "body: not ready",
        "ok but not ready: submitter is OUT OF GAS",
    )


def test_quoted_html_is_left_for_the_page_to_escape() -> None:
    # The page escapes HTML once; a summary escaped here as well would show &lt; to people.
    _, _, summary = classify_health(exchange("<b>down</b>"), SLOW_MS)
    assert "'<b>down</b>'" in summary


@pytest.mark.parametrize(
    ("text", "cap", "shown"),
    [
        ("ok", 60, "ok"),
        ("a\nb", 60, "a\\nb"),
        ("x" * 61, 60, "x" * 59 + "…"),
        ("x" * 60, 60, "x" * 60),
        ("abc\x00", 5, "abc…"),  # an escape is never cut in half
        ("\u200bzero width", 60, "\\u200bzero width"),
    ],
)
def test_visible_escapes_and_caps(text: str, cap: int, shown: str) -> None:
    assert visible(text, cap) == shown
    assert len(visible(text, cap)) <= cap


# --------------------------------------------------------------------------- /readyz

READY = {"status": "ready", "degraded": False, "checks": [], "ready": ["tier2/ses"]}
DEGRADED_CHECK = {"name": "tier2/paymaster", "status": "degraded", "reason": "unsponsored"}

READYZ = [
    ("ready", 200, json.dumps(READY), GREEN, ""),
    ("ready on a 503", 503, json.dumps(READY), RED, "http 503"),
    (
        "ready but degraded true",
        200,
        json.dumps({**READY, "degraded": True}),
        AMBER,
        "body: degraded",
    ),
    (
        "ready but degraded is a string",
        200,
        json.dumps({**READY, "degraded": "no"}),
        AMBER,
        "body: degraded",
    ),
    (
        "degraded",
        200,
        json.dumps({**READY, "status": "degraded", "checks": [DEGRADED_CHECK]}),
        AMBER,
        "body: degraded",
    ),
    ("unready", 503, json.dumps({**READY, "status": "unready"}), RED, "http 503"),
    ("unready on a 200", 200, json.dumps({**READY, "status": "unready"}), RED, "http 200"),
    ("a JSON array", 200, '[{"status":"ready"}]', RED, "body: no status"),
    ("status not a string", 200, '{"status":true}', RED, "body: no status"),
    ("status in capitals", 200, '{"status":"READY"}', RED, "body: no status"),
    ("status twice", 200, '{"status":"unready","status":"ready"}', RED, "body: ambiguous"),
    ("checks not a list", 200, '{"status":"degraded","checks":5}', AMBER, "body: degraded"),
    ("text ready", 200, "ready", RED, "body: no status"),
    ("a 503 without a body", 503, "", RED, "http 503"),
]


@pytest.mark.parametrize(
    ("code", "body", "status", "reason"), [c[1:] for c in READYZ], ids=[c[0] for c in READYZ]
)
def test_readyz_is_green_only_when_it_says_ready_plainly(
    code: int, body: str, status: Status, reason: str
) -> None:
    got_status, got_reason, summary = classify_readyz(
        exchange(body, code, path=READY_PATH), SLOW_MS
    )
    assert (got_status, got_reason) == (status, reason)
    assert summary.isprintable()


def test_json_object_never_raises_on_a_hostile_body() -> None:
    assert json_object("[" * 100_000) is None
    assert json_object('{"a": 1}') == {"a": 1}
    assert json_object("[1]") is None

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


#: (status, reason) -> the bodies that get it, by id: reason "" for green, else the exact reason.
VERDICTS: dict[tuple[Status, str], dict[str, str]] = {
    (GREEN, ""): {
        # --- text
        "ok": "ok",
        "OK and a newline": "OK\n",
        "ok in HTTP whitespace": " \t ok \r\n",
        "Ok mixed case": "Ok",
        # --- JSON objects
        '{"ok":true}': '{"ok":true}',
        "a worker's real body": (
            '{"ok":true,"vault_bucket":"agentkeys-vault-test-4290","chain_profile":"heima",'
            '"version":"0.1.0"}'
        ),
        "bundler ready": '{"ok":true,"ready":true}',
        "status agrees": '{"ok":true,"status":"OK"}',
        "empty errors agree": '{"ok":true,"errors":[],"error":null}',
        "healthy agrees": '{"ok":true,"healthy":true}',
    },
    (RED, "body: not ok"): {
        # --- text
        "not ok": "not ok",
        "ok not": "ok not",
        "okay": "okay",
        "ok with a full stop": "ok.",
        "ok: false": "ok: false",
        "error: service not ok": "error: service not ok",
        "empty": "",
        "whitespace only": " \r\n\t ",
        "HTML page containing ok": "<html><body><p>ok</p></body></html>",
        "nginx 200 page": "<html><center>Welcome to nginx! all ok</center></html>",
        "NUL after ok": "ok\x00",
        "NUL bytes around ok": "\x00ok\x00",
        "a unit separator is not whitespace here": "\x1fok",
        "Kelvin sign K lower-cases to k": "o\u212a",
        "fullwidth OK": "\uff2f\uff2b",
        "ok then JSON false": '{"ok": false} ok',
        "a 10 kB body of ok": "ok " * 3400,
        # --- JSON that is not an object
        '["ok"]': '["ok"]',
        "[]": "[]",
        "[true]": "[true]",
        'a JSON string "ok"': '"ok"',
        "JSON true": "true",
        "JSON null": "null",
        "nested too deep to parse": "[" * 100_000,
    },
    (RED, "body: ok is not true"): {
        "ok false": '{"ok": false}',
        'ok is the string "true"': '{"ok":"true"}',
        "ok is 1": '{"ok":1}',
        "ok is null": '{"ok":null}',
        "no ok field": '{"status":"fine"}',
        "OK in capitals is another key": '{"OK":true}',
        "empty object": "{}",
        "not ready and ok false is red": '{"ok":false,"ready":false}',
    },
    (RED, "body: contradicts ok"): {
        "status error": '{"ok":true,"status":"error"}',
        "status down": '{"ok":true,"status":"down"}',
        "status not a string": '{"ok":true,"status":1}',
        "healthy false": '{"ok":true,"healthy":false}',
        "healthy 1 is not true": '{"ok":true,"healthy":1}',
        "an error": '{"ok":true,"error":"db down"}',
        "errors listed": '{"ok":true,"errors":["disk full"]}',
        "red beats amber": '{"ok":true,"ready":false,"status":"error"}',
    },
    (RED, "body: ambiguous"): {
        "ok twice, last true": '{"ok":false,"ok":true}',
        "ok twice, both true": '{"ok":true,"ok":true}',
    },
    (AMBER, "body: not ready"): {
        "bundler not ready is amber": '{"ok":true,"ready":false,"missing":["submitter"]}',
    },
    (AMBER, "body: degraded"): {
        "degraded is amber": '{"ok":true,"degraded":true}',
    },
}
#: (id, body, status, reason), one a case.
BODIES = [
    (name, body, status, reason)
    for (status, reason), bodies in VERDICTS.items()
    for name, body in bodies.items()
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

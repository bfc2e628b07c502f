"""Hostile JSON must not crash the collector: measured before it is parsed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from fleetboard import jsonsafe


@pytest.mark.parametrize(
    ("text", "levels"),
    [
        ('{"ok": true}', 1),
        ('{"a": [1, {"b": [2]}]}', 4),
        ('{"s": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', 1),
        ('{"s": "\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', 1),
        ("[" * 65 + "]" * 65, 65),
        ("[" * 100_000, 100_000),
    ],
)
def test_depth_counts_brackets_outside_strings(text: str, levels: int) -> None:
    assert jsonsafe.depth(text) == levels


def test_real_answers_parse_as_json_does() -> None:
    doc = {"workflow_runs": [{"id": 1, "jobs": [{"steps": [{"name": "test-fleet slot 2"}]}]}]}
    text = json.dumps(doc)
    assert jsonsafe.loads(text) == json.loads(text) == doc
    assert jsonsafe.loads(text.encode()) == doc


def test_too_deep_is_a_value_error_naming_the_depth() -> None:
    with pytest.raises(ValueError, match="nested 100 levels deep"):
        jsonsafe.loads("[" * 100 + "]" * 100)


def test_a_bracket_bomb_cannot_crash_the_pass_once_web3_raised_the_recursion_limit() -> None:
    # py_ecc (imported with web3) raises the recursion limit to 100,000; plain json.loads
    # of a 64 KiB bracket body then overflows the C stack and the process dies (SIGSEGV).
    # Run in a child, so a crash fails this test instead of killing the test session.
    program = textwrap.dedent(
        """
        import sys
        sys.setrecursionlimit(100_000)
        from datetime import UTC, datetime
        from fleetboard.model import HttpExchange
        from fleetboard.rules.verdicts import classify_health
        for body in ("[" * 65536, '{"a":' * 13000, "[" * 30000 + '"' + "]" * 30000):
            exchange = HttpExchange(
                "h", "/healthz", datetime.now(UTC), 1, status_code=200, body=body
            )
            print(classify_health(exchange, 2000)[0].value)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["red", "red", "red"]

"""An alert in each channel's form (alerts/message.py): Slack's incoming-webhook JSON, the
generic JSON under schema/alert.schema.json, and the SNS subject and text. Every form of
every kind says its status in a word, carries its links, says a test is a test, lists a
digest's first 20, and keeps hostile text from the board escaped and within bounds."""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from jsonschema import Draft7Validator

from fleetboard import schemas
from fleetboard.alerts import message
from fleetboard.alerts.model import Alert, Body, Kind, Link
from fleetboard.inventory import CHANNEL_KINDS

# Hypothesis's caches under the project's download cache, never `.hypothesis/` in the tree.
set_hypothesis_home_dir(
    Path(os.environ.get("FLEETBOARD_CACHE") or Path.home() / ".cache" / "fleetboard") / "hypothesis"
)

SCHEMA = Path(__file__).parents[2] / "lambdas" / "fleetboard" / "schema" / "alert.schema.json"
AT = datetime(2026, 11, 23, 10, 56, 3, tzinfo=UTC)
BOARD = Link("board", "https://board.example/#env-test-2")
RUN = Link("run #4771", "https://github.com/litentry/agentKeys/actions/runs/4771?check=1&x=2")
#: What the board passes on from a host it does not control: markup, a ping, an entity,
#: a lone backtick, a forged line, a bidi override, and far too much of it.
HOSTILE = (
    "<script>alert(1)</script> <!channel> @here A&B ` ``` \nNext action: wire the money "
    "\u202e<https://evil.example|click>" + "x" * 10_000
)
STATUS = {
    Kind.FIRING: ("red", "green"),
    Kind.WORSE: ("red", "amber"),
    Kind.RECOVERED: ("green", "red"),
    Kind.REMINDER: ("red", None),
    Kind.FLAPPING: ("amber", "green"),
    Kind.FORECAST: ("amber", None),
    Kind.DIGEST: ("red", None),
    Kind.TEST: ("green", None),
}


def alert(kind: Kind, n: int = 0, **changes: Any) -> Alert:
    """A realistic alert of `kind`; a digest holds 3 (or `items=`) firing alerts."""
    status, was = STATUS[kind]
    env = "fleet" if kind in (Kind.DIGEST, Kind.TEST) else "test-2"
    made = Alert(
        key=f"{env}/{kind}/{n}/2026-11-23T10:56:03Z",
        kind=kind,
        env=env,
        status=status,
        was=was,
        at=AT,
        since=AT - timedelta(minutes=14),
        title=f"{env} is {status}: audit-test-2 HTTP 502 in 41 ms (#{n:02d})",
        lines=(f"{env} audit-test-2 {status}: HTTP 502 in 41 ms", "test-2 tls amber: 9 days"),
        next_action="Look at audit-test-2: `journalctl -u audit` on its host",
        links=(BOARD, RUN),
    )
    if kind is Kind.DIGEST:
        made = replace(made, items=tuple(alert(Kind.FIRING, i) for i in range(3)))
    return replace(made, **changes)


def slack_texts(data: dict[str, Any]) -> list[str]:
    """Every mrkdwn text of a Slack body: the fallback, each section and context element."""
    out = [data["text"]]
    for block in data["blocks"]:
        if "text" in block:
            out.append(block["text"]["text"])
        out += [element["text"] for element in block.get("elements", ())]
    return out


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2  # as Slack (JavaScript) counts


def readable(body: Body) -> str:
    """Everything a person reading `body` sees, as one string."""
    if body.subject is not None:
        return f"{body.subject}\n{body.data.decode()}"
    data = json.loads(body.data)
    return "\n".join(slack_texts(data)) if "blocks" in data else json.dumps(data)


def generic(alert_: Alert) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(message.body("webhook", alert_).data)
    return doc


ALL = [(channel, kind) for channel in CHANNEL_KINDS for kind in Kind]


@pytest.mark.parametrize(("channel", "kind"), ALL)
def test_every_form_parses_and_says_the_status_in_a_word(channel: str, kind: Kind) -> None:
    made = alert(kind)
    body = message.body(channel, made)
    word = made.status
    if channel == "sns":
        assert body.content_type.startswith("text/plain") and body.subject
        text = body.data.decode("utf-8")
        assert re.search(rf"\b{word}\b", body.subject, re.I), body.subject
        first = text.splitlines()[2 if kind is Kind.TEST else 0]
        assert re.search(rf"\b{word}\b", first, re.I)
        assert text.rstrip().splitlines()[-1].startswith("Sent by fleetboard")
        return
    assert body.content_type == "application/json" and body.subject is None
    data = json.loads(body.data)
    if channel == "webhook":
        # Valid by the schema file itself, read as any tool would (a generic validator).
        validator = Draft7Validator(json.loads(SCHEMA.read_text()))
        assert list(validator.iter_errors(data)) == []
        assert (data["kind"], data["status"], data["env"]) == (kind, word, made.env)
        assert data["id"] == made.key and data["at"] == "2026-11-23T10:56:03Z"
        return
    texts = slack_texts(data)
    # The fallback (what a notification shows) and the first block say the word.
    assert re.search(rf"\b{word}\b", texts[0], re.I) and made.title in texts[0]
    assert re.search(rf"\*{word.upper()}\*", texts[1])
    # No colour alone: every emoji stands right beside a word in capitals.
    for text in texts:
        for emoji in re.finditer(r":[a-z_]+:", text):
            assert re.match(r" \*[A-Z]+\*", text[emoji.end() :]), text
    assert all(
        block["text"]["verbatim"] is True for block in data["blocks"] if block["type"] == "section"
    )


@pytest.mark.parametrize(("channel", "kind"), ALL)
def test_every_form_carries_the_links(channel: str, kind: Kind) -> None:
    body = message.body(channel, alert(kind))
    if channel == "slack":
        text = "\n".join(slack_texts(json.loads(body.data)))
        # As Slack links, `&` in the address escaped as Slack asks.
        assert f"<{BOARD.url}|board>" in text
        assert f"<{RUN.url.replace('&', '&amp;')}|run #4771>" in text
    elif channel == "webhook":
        assert json.loads(body.data)["links"] == [
            {"label": "board", "url": BOARD.url},
            {"label": "run #4771", "url": RUN.url},
        ]
    else:
        lines = body.data.decode().splitlines()
        assert f"  board: {BOARD.url}" in lines and f"  run #4771: {RUN.url}" in lines


@pytest.mark.parametrize("channel", CHANNEL_KINDS)
def test_only_links_one_can_open_safely_are_kept(channel: str) -> None:
    links = (Link("evil", "javascript:alert(1)"), Link("file", "file:///etc/passwd"), BOARD)
    seen = readable(message.body(channel, alert(Kind.FIRING, links=links)))
    assert BOARD.url in seen
    assert "javascript:" not in seen and "/etc/passwd" not in seen


@pytest.mark.parametrize(("channel", "kind"), ALL)
def test_hostile_text_is_escaped_and_bounded_in_every_form(channel: str, kind: Kind) -> None:
    hostile = alert(
        kind,
        env=HOSTILE,
        title=HOSTILE,
        lines=(HOSTILE,) * 80,
        next_action=HOSTILE,
        was=HOSTILE,
        key=HOSTILE,
        links=(Link(HOSTILE, BOARD.url),) * 30,
    )
    if kind is Kind.DIGEST:
        hostile = replace(hostile, items=(replace(hostile, kind=Kind.FIRING, items=()),) * 30)
    body = message.body(channel, hostile)
    seen = readable(body)
    # No forged line, no invisible reordering, from anything the board passed on.
    assert "\nNext action: wire" not in seen and "\u202e" not in seen
    if channel == "slack":
        data = json.loads(body.data)
        texts = slack_texts(data)
        assert len(data["blocks"]) <= message.SLACK_BLOCKS
        assert all(units(t) <= message.SLACK_SECTION_CHARS for t in texts)
        assert sum(map(units, texts[1:])) <= message.SLACK_MESSAGE_CHARS
        assert "…" in seen  # cut, and said to be
        for text in texts:
            # Nothing of Slack's markup but the links made here: no <!channel>, no <script>,
            # no link the text made itself, every & an entity.
            bare = re.sub(r"<https://board\.example/#env-test-2\|[^<>|]*>", "", text)
            assert "<" not in bare and ">" not in bare, bare[:200]
            assert not re.search(r"&(?!amp;|lt;|gt;)", bare)
            assert "@here" not in text
            assert text.count("`") % 2 == 0 and "```" not in text
        assert "&lt;!channel&gt;" in seen and "&lt;script&gt;" in seen
    elif channel == "webhook":
        doc = json.loads(body.data)
        assert message.problems(doc) == []
        assert len(body.data) < 200_000
        assert len(doc["env"]) <= 200 and doc["env"].endswith("…")
        assert doc["more_lines"] == 80 - len(doc["lines"]) > 0
        assert len(doc["id"]) <= 200 and doc["id"].startswith("sha256:")
        # JSON is data: the words stay as they were (a receiver escapes for its own page).
        assert doc["title"].startswith(("<script>", "TEST: <script>"))
    else:
        assert body.subject is not None
        assert len(body.subject) < 100 and body.subject.isascii()
        assert body.subject.isprintable() and body.subject.startswith("[fleetboard] ")
        assert len(body.data) <= message.SNS_TEXT_BYTES
        assert all(len(line) <= 1100 for line in body.data.decode().splitlines())


@pytest.mark.parametrize("channel", CHANNEL_KINDS)
def test_a_hostile_status_still_reads_as_a_word_in_every_form(channel: str) -> None:
    # A status no one planned for: the word is said, cut, never replaced by a colour.
    strange = alert(Kind.FIRING, status="bad&<b>" + "z" * 500)
    seen = readable(message.body(channel, strange))
    expected = {"slack": "*BAD&amp;&lt;B&gt;", "webhook": '"bad&<b>', "sns": "BAD&<B>"}[channel]
    assert expected in seen


def test_emoji_count_twice_against_slacks_limits() -> None:
    heavy = alert(Kind.FIRING, title="🔥" * 5000, lines=("🔥" * 5000,) * 60)
    data = json.loads(message.body("slack", heavy).data)
    texts = slack_texts(data)
    assert all(units(t) <= message.SLACK_SECTION_CHARS for t in texts)
    assert sum(map(units, texts[1:])) <= message.SLACK_MESSAGE_CHARS


@pytest.mark.parametrize("channel", CHANNEL_KINDS)
def test_a_digest_of_30_lists_20_and_says_how_many_more(channel: str) -> None:
    items = tuple(alert(Kind.FIRING, i) for i in range(30))
    # As decide.py makes one: its lines are its alerts' titles, all of them.
    digest = alert(Kind.DIGEST, items=items, title="30 alerts at once", lines=(), since=None)
    body = message.body(channel, replace(digest, lines=tuple(a.title for a in items)))
    seen = readable(body)
    listed = [i for i in range(30) if f"(#{i:02d})" in seen]
    if channel == "webhook":
        doc = json.loads(body.data)
        assert [item["id"] for item in doc["items"]] == [a.key for a in items[:20]]
        assert doc["more_items"] == 10
    else:
        assert listed == list(range(20))
        assert "and 10 more" in seen
        assert re.search(r"\b30 alerts\b", seen)


@pytest.mark.parametrize("channel", CHANNEL_KINDS)
def test_a_test_message_says_it_is_a_test_wherever_it_is_read(channel: str) -> None:
    body = message.body(channel, alert(Kind.TEST, title="alerts reach this channel"))
    if channel == "sns":
        assert body.subject is not None and "TEST" in body.subject
        assert "TEST" in body.data.decode().splitlines()[0]
    elif channel == "webhook":
        doc = json.loads(body.data)
        assert doc["kind"] == "test" and doc["title"].startswith("TEST")
    else:
        texts = slack_texts(json.loads(body.data))
        assert texts[0].startswith("[TEST]") and "*TEST*" in texts[1]
        assert "nothing changed" in texts[-1]
    for kind in Kind:
        if kind is not Kind.TEST:  # and nothing else does
            assert "TEST" not in readable(message.body(channel, alert(kind)))


def test_since_says_how_long_and_from_when_floored() -> None:
    for minutes, said in ((14, "14 min"), (0, "under 1 min"), (125, "2 h 5 min")):
        since = AT - timedelta(minutes=minutes, seconds=59)
        words = message.since_words("red", since, AT)
        assert words.startswith(f"red for {said}, since ")
        assert words.endswith(since.strftime("%H:%M UTC"))
    # Another day: the date too, so "since 10:42" is never read as today.
    words = message.since_words("red", AT - timedelta(days=3), AT)
    assert words.endswith((AT - timedelta(days=3)).strftime("%Y-%m-%d %H:%M UTC"))
    # Unknown: said, and no time made up.
    unknown = message.since_words("red", None, AT)
    assert unknown.startswith("red") and "not" in unknown and not re.search(r"\d", unknown)
    # The same words reach every form.
    for channel in CHANNEL_KINDS:
        if channel != "webhook":
            assert "red for 14 min, since 10:42 UTC" in readable(
                message.body(channel, alert(Kind.FIRING))
            )


def test_the_id_lets_a_receiver_drop_a_repeat() -> None:
    first, again = generic(alert(Kind.FIRING)), generic(alert(Kind.FIRING))
    assert first["id"] == again["id"]
    assert generic(alert(Kind.FIRING, 1))["id"] != first["id"]
    long_a, long_b = "k" * 300 + "a", "k" * 300 + "b"
    ids = {generic(alert(Kind.FIRING, key=k))["id"] for k in (long_a, long_a, long_b)}
    assert len(ids) == 2 and all(len(i) <= 200 for i in ids)
    assert "drop" in message.schema()["description"] and "`id`" in message.schema()["description"]


def test_the_schema_names_every_kind_and_refuses_a_broken_body() -> None:
    schema = message.schema()
    assert schema["definitions"]["kind"]["enum"] == [str(k) for k in Kind]
    doc = generic(alert(Kind.FIRING))
    doc["kind"], doc["at"] = "panic", "yesterday"
    doc["lines"].append("two\nlines")
    found = message.problems(doc)
    assert any(p.startswith("kind:") for p in found) and any(p.startswith("at:") for p in found)
    assert any(p.startswith("lines.2:") for p in found)
    with pytest.raises(schemas.Invalid, match=r"alert does not match alert\.schema\.json"):
        message.validate(doc)


def test_an_unknown_channel_kind_is_named() -> None:
    with pytest.raises(ValueError, match=r"'pager'.*sns, slack, webhook"):
        message.body("pager", alert(Kind.FIRING))


#: Any text at all, weighted toward what breaks things: markup, entities, line breaks, a
#: lone surrogate (JSON from a host may carry one).
WORDS = st.text(
    alphabet=st.one_of(st.characters(), st.sampled_from("<>&|`*_~@!\n\r\u202e\x00\ud800 ")),
    max_size=300,
)


@settings(
    max_examples=int(os.environ.get("FLEETBOARD_PROPERTY_EXAMPLES") or 150),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(list(Kind)),
    key=WORDS,
    env=WORDS,
    status=WORDS,
    was=st.none() | WORDS,
    title=WORDS,
    lines=st.lists(WORDS, max_size=8),
    next_action=st.none() | WORDS,
    label=WORDS,
    url=st.one_of(WORDS, st.builds(lambda t: "https://board.example/" + t, WORDS)),
)
def test_any_text_makes_a_valid_bounded_body_in_every_form(
    kind: Kind,
    key: str,
    env: str,
    status: str,
    was: str | None,
    title: str,
    lines: list[str],
    next_action: str | None,
    label: str,
    url: str,
) -> None:
    made = alert(
        kind,
        key=key,
        env=env,
        status=status,
        was=was,
        title=title,
        lines=tuple(lines),
        next_action=next_action,
        links=(Link(label, url), BOARD),
    )
    # Never refused by its own schema (which would send nothing), whatever the board said.
    doc = generic(made)
    assert message.problems(doc) == []
    data = json.loads(message.body("slack", made).data)
    for text in slack_texts(data):
        bare = re.sub(r"<https?://[^<>|\s]+\|[^<>|]*>", "", text)
        assert "<" not in bare and ">" not in bare
        assert not re.search(r"&(?!amp;|lt;|gt;)", bare)
    assert all(units(t) <= message.SLACK_SECTION_CHARS for t in slack_texts(data))
    sns = message.body("sns", made)
    assert sns.subject is not None
    assert len(sns.subject) < 100 and sns.subject.isascii() and sns.subject.isprintable()


def test_the_readme_shows_a_generic_body_a_receiver_would_accept() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    part = readme.split("### Alert messages", 1)[1].split("\n### ", 1)[0]
    shown = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", part, re.S)]
    slack, doc = shown  # the Slack body, then the generic one
    assert message.problems(doc) == [] and doc["kind"] in list(Kind)
    assert slack["text"] and all(b["type"] in ("section", "context") for b in slack["blocks"])

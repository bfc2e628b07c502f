"""An alert in each channel's form: `body(kind, alert)` for kind in `inventory.CHANNEL_KINDS`.

The generic JSON (`document`, under schema/alert.schema.json) is made first and checked
against its schema; Slack's blocks and the SNS subject and text are views of that document,
the way the page is a view of the snapshot, so every form says the same things, each text
already made one line and cut to its bound once.

Everything in an alert came from the board (environment names, reasons from the fleet's
hosts), so it is untrusted text: a control character or line break becomes a space (a
newline in a reason would forge a line of its own); Slack's `&`, `<` and `>` are escaped as
Slack documents, so `<!channel>` pings nobody and no text becomes a link; the SNS subject is
ASCII. The status is always said in a word: Slack puts an emoji beside the word, never in
its place (a colour alone says nothing to a screen reader, an e-mail or a colour-blind
reader). Slack's limits are kept by cutting with "…" before it would refuse the message.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from fleetboard import schemas, text
from fleetboard.alerts.model import Alert, Body, Kind, Link
from fleetboard.inventory import CHANNEL_KINDS
from fleetboard.schemas import JsonDoc
from fleetboard.snapshot import iso

SCHEMA_VERSION = 1

#: The schema, a body's problems (`path: message` lines) and the check that raises.
SCHEMA = schemas.Schema("alert.schema.json", "alert does not match")
schema = SCHEMA.schema
problems = SCHEMA.problems
validate = SCHEMA.validate

JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"

#: A digest lists this many of its alerts, in every form, then says how many more: a
#: region outage is one message a person can read, not a wall (the board has the rest).
DIGEST_LISTED = 20
#: The generic body's bounds (the schema's maxItems and maxLength say the same): a
#: digest's item lists fewer lines and links, so a digest of long alerts stays small.
LINES_LISTED = 50
LINKS_LISTED = 20
ITEM_LINES_LISTED = 5
ITEM_LINKS_LISTED = 3
ID_CHARS = 200
ENV_CHARS = 200
STATUS_CHARS = 40
TITLE_CHARS = 500
LINE_CHARS = 500
NEXT_CHARS = 1000
LABEL_CHARS = 200
URL_CHARS = 2048

#: Slack: a section's text is at most 3,000 characters and a message at most 50 blocks
#: (Block Kit reference). Slack also refuses a message whose blocks hold ~13,000 characters
#: in all (`msg_blocks_too_long`, undocumented: slackapi/bolt-js#2509), so the budgets
#: below keep a whole message under 12,000.
SLACK_SECTION_CHARS = 3000
SLACK_BLOCKS = 50
SLACK_MESSAGE_CHARS = 12_000
_SLACK_HEAD = 400
_SLACK_TITLE = 700
_SLACK_SINCE = 100
_SLACK_NEXT = 1000
_SLACK_LINKS = 2500
_SLACK_ITEM = 450  # a digest's alert
_SLACK_LINE = 450  # an issue
_SLACK_FALLBACK = 300

#: SNS: an e-mail subject is ASCII with no line breaks or control characters, under 100
#: characters (SNS Publish, `Subject`); the message at most 256 KiB, of which the text
#: takes no more than this (cut at a line, saying so), room left for SNS's own framing.
SUBJECT_CHARS = 99
SNS_TEXT_BYTES = 200_000

#: The emoji Slack shows beside a status word (never instead of it).
_EMOJI = {
    "red": ":red_circle:",
    "amber": ":large_orange_circle:",
    "green": ":large_green_circle:",
    "unknown": ":white_circle:",
}
_OTHER_EMOJI = ":black_circle:"  # grey, parked, maintenance, whatever comes next
_TEST_EMOJI = ":test_tube:"

#: Characters that make no visible one-line text: controls, format characters (bidi
#: overrides turn words around), surrogates, unassigned, line and paragraph separators.
_NOT_ONE_LINE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_HTTP_URL = re.compile(r"https?://\S+")


# --------------------------------------------------------------------------- words


def one_line(value: str) -> str:
    """`value` as one line of visible text: control, format and line-break characters
    become spaces, and runs of space one."""
    if value.isprintable() and "  " not in value and value == value.strip():
        return value  # the usual case, without a look at every character
    spaced = "".join(" " if unicodedata.category(c) in _NOT_ONE_LINE else c for c in value)
    return " ".join(spaced.split())


def bounded(value: str | None, limit: int) -> str:
    """`value` as one line of at most `limit` characters. Only the start that could show is
    looked at: a 10 MB reason costs no more than a short one."""
    return cut(one_line((value or "")[: 2 * limit + 64]), limit)


def cut(value: str, limit: int, ellipsis: str = "…") -> str:
    """`value` in at most `limit` characters, cut with `ellipsis` when longer."""
    if len(value) <= limit:
        return value
    return value[: max(0, limit - len(ellipsis))] + ellipsis


def clock(at: datetime, day: datetime) -> str:
    """`10:42 UTC` on `day`'s own UTC day, else `2026-11-20 07:46 UTC`."""
    at, day = at.astimezone(UTC), day.astimezone(UTC)
    return at.strftime("%H:%M UTC" if at.date() == day.date() else "%Y-%m-%d %H:%M UTC")


def since_words(status: str, since: datetime | None, at: datetime) -> str:
    """How long it has shown `status`, as of `at`: `red for 14 min, since 10:42 UTC`.
    Floored (text.duration): a message says no more than the board saw."""
    if since is None:
        return f"{status}, since a time the board does not remember"
    return f"{status} for {text.duration(at - since)}, since {clock(since, at)}"


def state_words(kind: str, status: str, was: str | None, items: int = 0) -> str:
    """What happened, with the status word in it whatever the kind: `went red (was
    green)`, `still red`, `recovered, now green (was red)`, `30 alerts, worst red`."""
    said = _STATE_WORDS.get(kind)
    if said is None:
        return status
    before = f" (was {was})" if was else ""
    alerts = text.counted(items, "alert")
    return said.format(status=status, before=before, alerts=alerts)


#: What happened, by kind: the status word is in every one.
_STATE_WORDS: dict[str, str] = {
    Kind.FIRING: "went {status}{before}",
    Kind.WORSE: "worse, now {status}{before}",
    Kind.RECOVERED: "recovered, now {status}{before}",
    Kind.REMINDER: "still {status}",
    Kind.FLAPPING: "flapping, now {status}",
    Kind.FORECAST: "forecast, now {status}",
    Kind.DIGEST: "{alerts} at once, worst {status}",
    Kind.TEST: "test message, shows {status}",
}


def message_id(key: str) -> str:
    """The body's `id`: the alert's key as it is, or `sha256:<hex>` of a key too long to
    send (still one id per key, so a receiver still drops a repeat)."""
    if 0 < len(key) <= ID_CHARS and one_line(key) == key:
        return key
    # surrogatepass: a lone surrogate (JSON allows one) still hashes, to its own id.
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


# --------------------------------------------------------------------------- generic JSON


def _word(value: str | None, limit: int, default: str) -> str:
    return bounded(value, limit) or default


def _links(links: Iterable[Link], listed: int) -> list[JsonDoc]:
    """The links a receiver can open: http(s) only (never `javascript:` or a `file:`),
    whole (a cut address leads somewhere else), at most `listed`."""
    out: list[JsonDoc] = []
    for link in links:
        if len(out) == listed:
            break
        url = link.url
        if len(url) <= URL_CHARS and url.isprintable() and _HTTP_URL.fullmatch(url):
            out.append({"label": _word(link.label, LABEL_CHARS, "link"), "url": url})
    return out


def _fields(alert: Alert, lines_listed: int, links_listed: int) -> JsonDoc:
    """The fields an alert and a digest's item share."""
    status = _word(alert.status, STATUS_CHARS, "unknown")
    env = _word(alert.env, ENV_CHARS, "fleet")
    title = _word(alert.title, TITLE_CHARS, f"{env} {state_words(alert.kind, status, None)}")
    if alert.kind is Kind.TEST and not title.startswith("TEST"):
        title = cut(f"TEST: {title}", TITLE_CHARS)
    # Only the lines listed are read whole; the rest are counted.
    lines: list[str] = []
    more = 0
    for line in alert.lines:
        if len(lines) < lines_listed:
            if shown := bounded(line, LINE_CHARS):
                lines.append(shown)
        elif line and not line.isspace():
            more += 1
    return {
        "id": message_id(alert.key),
        "kind": str(alert.kind),
        "env": env,
        "status": status,
        "was": bounded(alert.was, STATUS_CHARS) or None,
        "at": iso(alert.at),
        "since": iso(alert.since),
        "title": title,
        "lines": lines,
        "more_lines": more,
        "next_action": bounded(alert.next_action, NEXT_CHARS) or None,
        "links": _links(alert.links, links_listed),
    }


def document(alert: Alert) -> JsonDoc:
    """The generic body (schema/alert.schema.json): every text one line and bounded, a
    digest's first DIGEST_LISTED items and the count of the rest."""
    items = alert.items if alert.kind is Kind.DIGEST else ()
    return {
        "schema_version": SCHEMA_VERSION,
        **_fields(alert, LINES_LISTED, LINKS_LISTED),
        "items": [
            _fields(item, ITEM_LINES_LISTED, ITEM_LINKS_LISTED) for item in items[:DIGEST_LISTED]
        ],
        "more_items": max(0, len(items) - DIGEST_LISTED),
    }


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _since(doc: JsonDoc) -> str:
    since = _time(doc["since"]) if doc["since"] else None
    return since_words(doc["status"], since, _time(doc["at"]))


def _state(doc: JsonDoc) -> str:
    count = len(doc.get("items", ())) + doc.get("more_items", 0)
    return state_words(doc["kind"], doc["status"], doc["was"], count)


def _digest(doc: JsonDoc) -> bool:
    return doc["kind"] == Kind.DIGEST and bool(doc.get("items"))


def _says_since(doc: JsonDoc) -> bool:
    """A digest and a test stand for no one thing's time unless they carry one."""
    return doc["since"] is not None or doc["kind"] not in (Kind.DIGEST, Kind.TEST)


# --------------------------------------------------------------------------- Slack

_SLACK_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
#: `@here` and friends typed as words: Slack parses them only when asked to (`verbatim`
#: is set on every text), but a full-width at sign keeps them words wherever they go.
_MENTION = re.compile(r"@(?=(?:here|channel|everyone|group)\b)", re.IGNORECASE)


def units(value: str) -> int:
    """Length as Slack counts it (UTF-16 code units, as JavaScript does): an emoji or
    another character past U+FFFF counts two."""
    return len(value) + sum(1 for c in value if ord(c) > 0xFFFF)


def mrkdwn(raw: str, limit: int) -> str:
    """Untrusted one-line text as Slack mrkdwn: `&`, `<`, `>` escaped as Slack documents
    (so `<!channel>` is text, not a ping, and nothing becomes a link), mentions typed as
    words kept words, an unpaired backtick or a ``` fence made a look-alike (so it cannot
    turn the rest of the message into code), and at most `limit` units, cut with "…"
    between escapes, never inside one."""
    raw = _MENTION.sub("\uff20", raw)
    if raw.count("`") % 2 or "```" in raw:
        raw = raw.replace("`", "\u02cb")
    pieces = [_SLACK_ESCAPES.get(c, c) for c in raw]
    if sum(map(units, pieces)) <= limit:
        return "".join(pieces)
    out: list[str] = []
    size = 1  # the "…"
    for piece in pieces:
        size += units(piece)
        if size > limit:
            break
        out.append(piece)
    return "".join(out) + "…"


def _slack_link(link: JsonDoc, limit: int) -> str:
    """`<url|label>`, or "" when even the address does not fit (it is never cut: a cut
    address leads somewhere else)."""
    url = link["url"]
    for raw, quoted in (("<", "%3C"), (">", "%3E"), ("|", "%7C"), ("&", "&amp;")):
        url = url.replace(raw, quoted)
    room = min(limit - units(url) - 3, LABEL_CHARS)
    if room < 5:
        return ""
    # A `|` in the label would read as a second separator: a broken bar looks the same.
    label = mrkdwn(link["label"].replace("|", "\u00a6"), room)
    return f"<{url}|{label}>"


def _slack_links(links: Sequence[JsonDoc], limit: int) -> str:
    """Whole links, as many as fit in `limit` units, then how many did not."""
    shown: list[str] = []
    size = 0
    for i, link in enumerate(links):
        tail = f"and {len(links) - i} more"
        room = limit - size - units(tail) - 3 if i < len(links) - 1 else limit - size
        one = _slack_link(link, room)
        if not one:
            return " · ".join([*shown, tail])
        shown.append(one)
        size += units(one) + 3
    return " · ".join(shown)


def _slack_head(doc: JsonDoc, limit: int) -> str:
    """`:red_circle: *RED* · *test-2* · went red (was green)`: the emoji beside the word,
    `TEST` first on a test."""
    test = f"{_TEST_EMOJI} *TEST* · " if doc["kind"] == Kind.TEST else ""
    emoji = _EMOJI.get(doc["status"].lower(), _OTHER_EMOJI)
    mark = f"{test}{emoji} *{mrkdwn(doc['status'].upper(), STATUS_CHARS)}* · "
    room = limit - units(mark)
    env = f"*{mrkdwn(doc['env'], room // 2 - 2)}* · "
    return f"{mark}{env}{mrkdwn(_state(doc), room - units(env))}"


def _bullets(lines: Sequence[str], more: int, limit: int) -> str:
    """`• line` per issue, as many as fit in `limit` units, then how many more."""
    out: list[str] = []
    size = 0
    for i, line in enumerate(lines):
        rest = len(lines) - i + more
        room = limit - size - units(f"\nand {rest} more") - 3
        if room < 40:  # no room for a readable line: say how many are left instead
            return "\n".join([*out, f"and {rest} more"])
        shown = "• " + mrkdwn(line, min(room, _SLACK_LINE))
        out.append(shown)
        size += units(shown) + 1
    if more:
        out.append(f"and {more} more")
    return "\n".join(out)


def _slack_item(item: JsonDoc, limit: int) -> str:
    """One alert of a digest in a few lines: what, how long, the next action, its link."""
    parts = [_slack_head(item, 160), mrkdwn(item["title"], 120)]
    if _says_since(item):
        parts.append(mrkdwn(_since(item), 70))
    if item["next_action"]:
        parts.append("Next: " + mrkdwn(item["next_action"], 90))
    used = sum(units(p) + 1 for p in parts)
    link = _slack_links(item["links"][:1], limit - used) if item["links"] else ""
    return "\n".join([*parts, link] if link else parts)


def _section(mrkdwn_text: str) -> JsonDoc:
    # verbatim: Slack then links no bare URL or channel name and parses no mention in it.
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn_text, "verbatim": True}}


def slack(doc: JsonDoc) -> JsonDoc:
    """Slack's incoming-webhook JSON for a generic body: `text` (the status word and the
    title: what a notification shows) and the blocks, all in mrkdwn sections (one
    escaping rule for every text; a header block is plain text, which has none)."""
    at = _time(doc["at"])
    foot = f"fleetboard · {doc['kind']} · {at.strftime('%Y-%m-%d %H:%M UTC')}"
    if doc["kind"] == Kind.TEST:
        foot = "This is a test message (`fleetboard alerts test`): nothing changed. " + foot
    title = f"*{mrkdwn(doc['title'], _SLACK_TITLE)}*"
    if _says_since(doc):
        title += "\n" + mrkdwn(_since(doc), _SLACK_SINCE)
    texts = [_slack_head(doc, _SLACK_HEAD), title]
    if _digest(doc):  # its items say what its lines would, and more
        texts += [_slack_item(item, _SLACK_ITEM) for item in doc["items"]]
        if doc["more_items"]:
            texts.append(f"and {doc['more_items']} more (the board lists them all)")
    else:
        if doc["lines"]:
            texts.append(_bullets(doc["lines"], doc["more_lines"], SLACK_SECTION_CHARS))
        if doc["next_action"]:
            texts.append("*Next:* " + mrkdwn(doc["next_action"], _SLACK_NEXT))
    if doc["links"]:
        # The links take what the message has left, up to their own budget.
        left = SLACK_MESSAGE_CHARS - sum(map(units, texts)) - units(foot)
        texts.append(_slack_links(doc["links"], min(_SLACK_LINKS, left)))
    blocks = [_section(t) for t in texts if t][: SLACK_BLOCKS - 1]
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": foot, "verbatim": True}]}
    )
    test = "[TEST] " if doc["kind"] == Kind.TEST else ""
    fallback = mrkdwn(f"{test}{doc['status'].upper()}: {doc['title']}", _SLACK_FALLBACK)
    return {"text": fallback, "blocks": blocks}


# --------------------------------------------------------------------------- SNS (e-mail)


def ascii_line(value: str) -> str:
    """`value` in printable ASCII: accents dropped (é -> e), anything else `?`."""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    folded = "".join(c if " " <= c <= "~" else "?" for c in folded)
    return " ".join(folded.split())


def subject(doc: JsonDoc) -> str:
    """`[fleetboard] test-2 went red (was green): audit-test-2 HTTP 502`: ASCII, one line,
    under 100 characters, beginning with a punctuation mark as SNS asks. The head (with
    the status word) keeps its place and the title gives way; the title's own `<env> is
    <status>: ` is left out, the head has said it."""
    test = "TEST " if doc["kind"] == Kind.TEST else ""
    env = cut(ascii_line(doc["env"]), 30, "...")
    # Short words here, so a strange status cannot push the rest out of the subject.
    was = doc["was"] and cut(doc["was"], 12)
    count = len(doc["items"]) + doc["more_items"]
    state = state_words(doc["kind"], cut(doc["status"], 12), was, count)
    title = doc["title"]
    for said in (f"{doc['env']} is {doc['status']}: ", f"TEST: {doc['env']} is {doc['status']}: "):
        if title.startswith(said) and len(title) > len(said):
            title = title[len(said) :]
    head = f"[fleetboard] {test}{env} {ascii_line(state)}"
    return cut(f"{head}: {ascii_line(title)}", SUBJECT_CHARS, "...")


def _text_alert(doc: JsonDoc, indent: str = "") -> list[str]:
    out = [f"{doc['status'].upper()} · {doc['env']} · {_state(doc)}", doc["title"]]
    if _says_since(doc):
        out.append(_since(doc))
    if doc["lines"] and not _digest(doc):
        out += ["", "Issues:"] + [f"  - {line}" for line in doc["lines"]]
        if doc["more_lines"]:
            out.append(f"  and {doc['more_lines']} more")
    if doc["next_action"]:
        out += ["", f"Next action: {doc['next_action']}"]
    if doc["links"]:
        out += ["", "Links:"] + [f"  {link['label']}: {link['url']}" for link in doc["links"]]
    return [f"{indent}{line}".rstrip() for line in out]


def plain_text(doc: JsonDoc) -> str:
    """The e-mail's text: the alert (a digest's items in turn), and where it came from,
    at most SNS_TEXT_BYTES of UTF-8 (cut at a line, saying so)."""
    out: list[str] = []
    if doc["kind"] == Kind.TEST:
        out += ["TEST MESSAGE from fleetboard (`fleetboard alerts test`): nothing changed.", ""]
    out += _text_alert(doc)
    for n, item in enumerate(doc["items"], 1):
        out += ["", f"{n}.", *_text_alert(item, "   ")]
    if doc["more_items"]:
        out += ["", f"and {doc['more_items']} more (the board lists them all)"]
    foot = [
        "",
        "--",
        f"Sent by fleetboard, the fleet's status board, at {doc['at']} ({doc['kind']}, id "
        f"{doc['id']}).",
    ]
    room = SNS_TEXT_BYTES - len("\n".join(foot).encode()) - 100
    kept: list[str] = []
    for line in out:
        room -= len(line.encode()) + 1
        if room < 0:
            kept.append("… (cut here: the message was too long for e-mail; the board has it all)")
            break
        kept.append(line)
    return "\n".join(kept + foot) + "\n"


# --------------------------------------------------------------------------- body


def _dumps(doc: JsonDoc) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def body(kind: str, alert: Alert) -> Body:
    """`alert` as a channel of `kind` takes it. The generic document is checked against
    its schema first, whatever the kind (schemas.Invalid: a bug, nothing is sent)."""
    if kind not in CHANNEL_KINDS:
        raise ValueError(f"alert channel kind {kind!r}: not one of {', '.join(CHANNEL_KINDS)}")
    doc = document(alert)
    validate(doc)
    if kind == "webhook":
        return Body(JSON_TYPE, _dumps(doc))
    if kind == "slack":
        return Body(JSON_TYPE, _dumps(slack(doc)))
    return Body(TEXT_TYPE, plain_text(doc).encode(), subject(doc))

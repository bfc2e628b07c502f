"""The log tails, off the wire: [logs] and its checks, the masking of a logged line, the
service a stream is of, the rule that turns a tail into the card's part (never a status),
and the card's errors part as a reader gets it, escaped. The source against CloudWatch
Logs (moto) is tests/integration/aws/test_logs_source.py."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from tests.boards import NOW, XSS, demo, demo_fleet, document
from tests.configs import GOOD
from tests.html import card, parse
from tests.observed import Observed

from fleetboard import config, render
from fleetboard.config import ConfigError
from fleetboard.inventory import DEFAULT_LOG_FILTER, Environment, LogSettings
from fleetboard.model import (
    LogEntry,
    LogFacts,
    LogsView,
    LogTail,
    ServiceLines,
    SourceFailure,
)
from fleetboard.render.logs import logs_summary
from fleetboard.rules.logs import NOT_READ_YET, logs_view
from fleetboard.sources.logs import LINE_CHARS, line_text, merged, service_of
from fleetboard.text import mask

DENIED = (
    "logs:FilterLogEvents denied (AccessDeniedException): User: arn:aws:iam::1:user/c is not "
    "authorized to perform: logs:FilterLogEvents — allow logs:FilterLogEvents for the "
    "collector's role"
)


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config.loads(text, source="fleet.toml")
    return caught.value.problems


# --------------------------------------------------------------------------- [logs]


def test_without_logs_nothing_is_read() -> None:
    inv = config.loads(GOOD).inventory
    assert inv.logs is None


def test_an_empty_logs_section_reads_each_environment_s_group_by_the_default_pattern() -> None:
    logs = config.loads(GOOD + "\n[logs]\n").inventory.logs

    assert logs is not None
    assert logs.groups == {"prod": "/fleet/prod", "test-2": "/fleet/test-2"}
    assert (logs.filter, logs.lines, logs.window_minutes) == (DEFAULT_LOG_FILTER, 3, 60)
    assert logs.max_events == 500


def test_an_environment_names_its_own_group() -> None:
    text = GOOD.replace(
        'broker_host = "broker.litentry.org"',
        'broker_host = "broker.litentry.org"\nlog_group = "/aws/ec2/agentkeys-prod"',
    )
    text += '\n[logs]\ngroup = "/agentkeys/{env}/services"\nlines = 5\nwindow_minutes = 30\n'

    logs = config.loads(text).inventory.logs

    assert logs is not None
    assert logs.groups == {
        "prod": "/aws/ec2/agentkeys-prod",
        "test-2": "/agentkeys/test-2/services",
    }
    assert (logs.lines, logs.window_minutes) == (5, 30)


LOG_MISTAKES = [
    (
        "a group name CloudWatch would refuse",
        GOOD + '\n[logs]\ngroup = "/fleet/{env}?x"\n',
        'fleet.toml: logs.group: "/fleet/{env}?x" is not a log group name: letters, digits, '
        "'_', '-', '/', '.', '#', and {env} for the environment's name (\"/fleet/{env}\")",
    ),
    (
        "one group for every environment",
        GOOD + '\n[logs]\ngroup = "/fleet/all"\n',
        'fleet.toml: logs.group: "/fleet/all", the group of environments.test-2, is already '
        "that of environments.prod: each environment's lines must come from its own group; "
        "put {env} in logs.group or give one a log_group of its own",
    ),
    (
        "an environment's group without [logs]",
        GOOD.replace(
            'broker_host = "broker-test-2.litentry.org"',
            'broker_host = "broker-test-2.litentry.org"\nlog_group = "/x"',
        ),
        "fleet.toml: environments.test-2.log_group: is set but there is no [logs] section, so "
        "no log is read; add [logs]",
    ),
    (
        "no lines to show",
        GOOD + "\n[logs]\nlines = 0\n",
        "fleet.toml: logs.lines: 0 must be at least 1",
    ),
    (
        "an empty filter",
        GOOD + '\n[logs]\nfilter = ""\n',
        'fleet.toml: logs.filter: "" is empty; give a value or leave the key out',
    ),
    (
        "a read of more than one page holds",
        GOOD + "\n[logs]\nmax_events = 20000\n",
        "fleet.toml: logs.max_events: 20000 must be at most 10000",
    ),
    (
        "a misspelt key",
        GOOD + "\n[logs]\nwindow = 60\n",
        "fleet.toml: logs.window: unknown key; did you mean 'window_minutes'? (known here: "
        "group, filter, lines, window_minutes, max_events)",
    ),
    (
        "a group too long once the name is in",
        GOOD + f'\n[logs]\ngroup = "/{"x" * 505}/{{env}}"\n',
        'fleet.toml: logs.group: "/' + "x" * 119 + '"… (513 characters) (the group of '
        "environments.test-2) is not a CloudWatch log group name: at most 512 letters, digits, "
        "'_', '-', '/', '.' and '#'",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), [m[1:] for m in LOG_MISTAKES], ids=[m[0] for m in LOG_MISTAKES]
)
def test_a_logs_mistake_names_file_key_and_value(text: str, message: str) -> None:
    assert message in problems(text)


# --------------------------------------------------------------------------- masking

KEY = "0x" + "4f" * 32

#: A logged line's own secrets: (id, line, what the card shows). The credentials an
#: exception's words lose too (an access key id, password=, a JWT, a GitHub token, SigV4)
#: are test_scrub.py's CREDENTIALS, masked there alike.
MASKED = [
    ("private key", f"ERROR signer: bad key {KEY} loaded", "ERROR signer: bad key 0x*** loaded"),
    (
        "PEM private key",
        "FATAL -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY----- read",
        "FATAL *** read",
    ),
    (
        "bearer token",
        "ERROR upstream said 401 to Bearer abcdefgh",
        "ERROR upstream said 401 to Bearer ***",
    ),
    ("token=", "ERROR GET /cb?token=abc123&state=1", "ERROR GET /cb?token=***&state=1"),
    (
        "secret: in JSON",
        'ERROR {"client_secret": "s3cr3t", "id": 7}',
        'ERROR {"client_secret": ***, "id": 7}',
    ),
    (
        "env-style secret",
        "ERROR DB_PASSWORD=pa55 not accepted",
        "ERROR DB_PASSWORD=*** not accepted",
    ),
    (
        "user:pass@ in a URL",
        "ERROR dial postgres://app:pa55w0rd@db.internal:5432/keys failed",
        "ERROR dial postgres://***@db.internal:5432/keys failed",
    ),
    # What a person reads a line for stays: paths, hosts, ids, a transaction's short hash.
    (
        "nothing secret",
        "ERROR panic: GET /v1/keys/42 from 10.0.0.7 tx 0x1234abcd",
        "ERROR panic: GET /v1/keys/42 from 10.0.0.7 tx 0x1234abcd",
    ),
    ("prose", "ERROR token required for this call", "ERROR token required for this call"),
]


@pytest.mark.parametrize(("line", "shown"), [m[1:] for m in MASKED], ids=[m[0] for m in MASKED])
def test_a_logged_secret_is_masked_and_the_rest_kept(line: str, shown: str) -> None:
    assert mask(line) == shown


def test_a_line_is_masked_before_it_is_capped_so_no_secret_is_shown_in_part() -> None:
    # The key starts just before the cap: capped first, its first digits would show.
    line = "ERROR " + "x" * (LINE_CHARS - 12) + " " + KEY + " " + "y" * 50

    shown = line_text(line)

    assert len(shown) == LINE_CHARS and shown.endswith("…")
    assert "4f4f" not in shown


def test_a_line_is_one_line_with_its_control_characters_escaped() -> None:
    shown = line_text('Traceback (most recent call last):\n  File "x.py"\x1b[31m\n')
    assert shown == 'Traceback (most recent call last):\\n  File "x.py"\\x1b[31m'


# --------------------------------------------------------------------------- services


def prod() -> Environment:
    return demo().inventory.environment("prod")


STREAMS = [
    ("a service's name", "broker", "broker"),
    ("a name as a word in a path", "i-0c0b739bd35643fd3/signer/stdout", "signer"),
    ("a worker's name", "audit-worker", "audit"),
    ("a host name", "email.litentry.org/app.log", "email"),
    ("the earliest name", "memory/audit-sidecar", "memory"),
    ("no service: the stream's own name", "cron-jobs", "cron-jobs"),
    ("a name inside a word is not the service", "brokerage", "brokerage"),
    ("a secret in a stream name", "job?token=abc123", "job?token=***"),
]


@pytest.mark.parametrize(
    ("stream", "service"), [s[1:] for s in STREAMS], ids=[s[0] for s in STREAMS]
)
def test_a_line_is_of_the_service_its_stream_names(stream: str, service: str) -> None:
    assert service_of(stream, prod()) == service


def test_merging_keeps_each_line_once_the_last_few_per_service_within_the_window() -> None:
    at = [NOW - timedelta(minutes=m) for m in (90, 50, 40, 30, 20, 10)]
    old = (ServiceLines("broker", (LogEntry(at[0], "too old"), LogEntry(at[1], "b1"))),)
    fresh = [
        ("broker", LogEntry(at[1], "b1")),  # read again: the read starts at the newest kept
        ("broker", LogEntry(at[2], "b2")),
        ("broker", LogEntry(at[3], "b3")),
        ("broker", LogEntry(at[4], "b4")),
        ("signer", LogEntry(at[5], "s1")),
    ]

    kept = merged(old, fresh, NOW - timedelta(minutes=60), 3)

    assert kept == (
        ServiceLines("signer", (LogEntry(at[5], "s1"),)),  # the latest line first
        ServiceLines("broker", tuple(LogEntry(at[i], f"b{i}") for i in (2, 3, 4))),
    )


# --------------------------------------------------------------------------- the rule

SETTINGS = LogSettings(groups={"prod": "/fleet/prod"})
LINES = (ServiceLines("broker", (LogEntry(NOW - timedelta(minutes=3), "ERROR boom"),)),)
READ_AT = NOW - timedelta(minutes=5)


def facts(tail: LogTail) -> LogFacts:
    return LogFacts({"prod": tail}, NOW, 1)


VIEWS = [
    ("no [logs]", None, facts(LogTail("/fleet/prod", READ_AT, LINES)), None),
    ("the source did not run", SETTINGS, None, None),
    (
        "read",
        SETTINGS,
        facts(LogTail("/fleet/prod", READ_AT, LINES, tried_at=READ_AT)),
        LogsView("/fleet/prod", READ_AT, 60, LINES, True, None, READ_AT),
    ),
    (
        "read, nothing matched",
        SETTINGS,
        facts(LogTail("/fleet/prod", READ_AT, (), tried_at=READ_AT)),
        LogsView("/fleet/prod", READ_AT, 60, (), True, None, READ_AT),
    ),
    (
        "its turn has not come",
        SETTINGS,
        facts(LogTail("/fleet/prod", None)),
        LogsView("/fleet/prod", None, 60, (), True, NOT_READ_YET, None),
    ),
    (
        # The lines of an earlier read are not shown as if the failed read had found them.
        "its latest read failed",
        SETTINGS,
        facts(LogTail("/fleet/prod", READ_AT, LINES, error=DENIED, tried_at=NOW)),
        LogsView("/fleet/prod", None, 60, (), True, DENIED, NOW),
    ),
    (
        "the source failed whole",
        SETTINGS,
        SourceFailure("logs", "internal error (KeyError)"),
        LogsView("/fleet/prod", None, 60, (), True, "not read: internal error (KeyError)", None),
    ),
    ("an environment it does not read (retired)", SETTINGS, LogFacts({}, NOW, 1), None),
]


@pytest.mark.parametrize(
    ("settings", "seen", "view"), [v[1:] for v in VIEWS], ids=[v[0] for v in VIEWS]
)
def test_the_tail_a_card_shows(
    settings: LogSettings | None, seen: object, view: LogsView | None
) -> None:
    assert logs_view("prod", settings, seen) == view


def logged(tails: dict[str, LogTail] | None = None, *, failure: str | None = None) -> Observed:
    """The demo fleet with [logs], the logs source's answer `tails` (or its `failure`)."""
    seen = demo()
    seen.loaded = config.loads(demo_fleet() + "\n[logs]\n")
    seen.inventory = seen.loaded.inventory
    if failure is not None:
        seen.fails("logs", failure)
    elif tails is not None:
        seen.reads("logs", LogFacts(tails, NOW, 1))
    return seen


def test_error_lines_never_colour_a_check_an_environment_or_the_fleet() -> None:
    loud = (ServiceLines("broker", (LogEntry(NOW, "FATAL panic: everything is on fire"),)),)
    quiet = demo().board()

    for seen in (
        logged({n: LogTail(f"/fleet/{n}", NOW, loud) for n in ("prod", "base", "test")}),
        logged({"prod": LogTail("/fleet/prod", None, error=DENIED, tried_at=NOW)}),
    ):
        board = seen.board()
        assert [(e.name, e.status, e.checks) for e in board.environments] == [
            (e.name, e.status, e.checks) for e in quiet.environments
        ]
        assert board.summary.issues == quiet.summary.issues
        assert board.summary.status == quiet.summary.status


# --------------------------------------------------------------------------- the card

SUMMARIES = [
    (
        "lines",
        {"services": [{"lines": [1, 2]}, {"lines": [3]}], "complete": True},
        "3 error lines in 2 services in the last 60 min",
    ),
    (
        "one line",
        {"services": [{"lines": [1]}], "complete": True},
        "1 error line in 1 service in the last 60 min",
    ),
    ("none", {"services": [], "complete": True}, "no error lines in the last 60 min"),
    (
        "more than one read takes",
        {"services": [{"lines": [1]}], "complete": False},
        "1 error line in 1 service in the last 60 min · more matched than one read takes: "
        "the newest may be missing",
    ),
    (
        "CloudWatch stopped early",
        {"services": [], "complete": False},
        "none found yet in the last 60 min: CloudWatch stopped before searching all of it",
    ),
]


@pytest.mark.parametrize(
    ("logs", "said"), [s[1:] for s in SUMMARIES], ids=[s[0] for s in SUMMARIES]
)
def test_the_errors_part_in_words(logs: dict[str, object], said: str) -> None:
    assert logs_summary({**logs, "window_minutes": 60}) == said


def errors_part(html: str, env: str) -> str:
    """A card's errors part as a reader gets it: its words, one line."""
    found = re.search(r'<(p|details) class="logs".*?</\1>', card(html, env), re.S)
    assert found is not None, card(html, env)
    return " ".join("".join(parse(found.group(0)).text).split())


def test_each_card_shows_its_last_error_lines_per_service_as_of_their_read() -> None:
    read_at = NOW - timedelta(minutes=4)
    broker = ServiceLines(
        "broker",
        (
            LogEntry(NOW - timedelta(minutes=20), "ERROR first"),
            LogEntry(NOW - timedelta(minutes=9), f"ERROR {XSS}"),
        ),
    )
    signer = ServiceLines("signer", (LogEntry(NOW - timedelta(minutes=30), "panic: nil map"),))
    tails = {
        "prod": LogTail("/fleet/prod", read_at, (broker, signer), tried_at=read_at),
        "base": LogTail("/fleet/base", NOW - timedelta(minutes=2), (), tried_at=NOW),
        "test": LogTail("/fleet/test", None, error=DENIED, tried_at=NOW),
        "test-2": LogTail("/fleet/test-2", None),
    }
    doc = document(logged(tails).board())
    html = render.render_page(doc)

    prod_logs = next(e for e in doc["environments"] if e["name"] == "prod")["logs"]
    assert prod_logs["as_of"] == "2026-11-23T07:56:03Z"
    assert [s["service"] for s in prod_logs["services"]] == ["broker", "signer"]
    assert errors_part(html, "prod") == (
        "errors: 3 error lines in 2 services in the last 60 min (as of 2026-11-23 07:56 UTC) "
        f"broker 2026-11-23 07:40 UTC ERROR first 2026-11-23 07:51 UTC ERROR {XSS} "
        "signer 2026-11-23 07:30 UTC panic: nil map"
    )
    # The line is text: escaped, never markup.
    assert "<script>" not in card(html, "prod")
    assert "ERROR &lt;script&gt;alert(1)&lt;/script&gt;" in card(html, "prod")
    assert errors_part(html, "base") == (
        "errors: no error lines in the last 60 min (as of 2026-11-23 07:58 UTC)"
    )
    assert errors_part(html, "test") == f"errors: unknown {DENIED} (tried 2026-11-23 08:00 UTC)"
    assert errors_part(html, "test-2") == f"errors: unknown {NOT_READ_YET}"
    # Information, not health: no pill in the part, whatever it says.
    for env in ("prod", "test"):
        part = re.search(r'class="logs".*?</(p|details)>', card(html, env), re.S)
        assert part is not None and 'class="pill' not in part.group(0)


def test_a_card_has_no_errors_part_without_logs() -> None:
    doc = document(demo().board())
    assert all(e.get("logs") is None for e in doc["environments"])
    assert 'class="logs"' not in render.render_page(doc)


def test_a_failed_source_makes_each_tail_unknown_with_its_reason() -> None:
    doc = document(logged(failure="no complete answer within 40 s").board())
    html = render.render_page(doc)
    assert errors_part(html, "prod") == ("errors: unknown not read: no complete answer within 40 s")


def test_the_tail_reaches_the_snapshot_as_the_schema_says() -> None:
    at = NOW - timedelta(minutes=1)
    tails = {"prod": LogTail("/fleet/prod", at, LINES, complete=False, tried_at=at)}
    doc = document(logged(tails).board())  # validated against snapshot.schema.json
    (prod_doc,) = [e for e in doc["environments"] if e["name"] == "prod"]
    assert prod_doc["logs"] == {
        "group": "/fleet/prod",
        "as_of": "2026-11-23T07:59:03Z",
        "window_minutes": 60,
        "services": [
            {"service": "broker", "lines": [{"at": "2026-11-23T07:57:03Z", "text": "ERROR boom"}]}
        ],
        "complete": False,
        "unknown": None,
        "tried_at": "2026-11-23T07:59:03Z",
    }


def test_past_its_size_cap_the_state_drops_the_lines_read_longest_ago_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fleetboard.sources import logs as source

    line = LogEntry(NOW, "ERROR " + "x" * 200)
    tails = {
        name: LogTail(f"/fleet/{name}", NOW - timedelta(minutes=age), (ServiceLines("a", (line,)),))
        for name, age in (("prod", 1), ("base", 3), ("test", 2))
    }
    whole = len(source.encoded(tails))
    monkeypatch.setattr(source, "_STATE_MAX_BYTES", whole - 100)

    kept = source._decode(json.loads(source.encoded(tails)))

    # base, read longest ago, lost its lines and says it was not read; the others are whole.
    assert kept["/fleet/base"] == LogTail("/fleet/base", None)
    assert kept["/fleet/prod"] == tails["prod"] and kept["/fleet/test"] == tails["test"]

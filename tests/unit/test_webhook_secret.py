"""The webhook secret as a Lambda pass reads it (handler.webhook_urls): a JSON object of
channel name -> https:// URL becomes one `alerts:<name>` secret per slack or webhook
channel; anything else configures none of them and says why, never quoting the value."""

from __future__ import annotations

import json

import pytest

from fleetboard.handler import WEBHOOKS_SCHEMA, webhook_urls
from fleetboard.inventory import AlertChannel, AlertSettings
from fleetboard.schemas import problems
from fleetboard.secrets import Secret

#: The credential part of every URL below: it must show in no note.
TOKEN = "T0UNIT/B0UNIT/pLaNtEdHoOkToKeN"
SLACK = f"https://hooks.slack.com/services/{TOKEN}"
HOOK = f"https://hooks.example.org:8443/in/{TOKEN}?sig={TOKEN}"
PASSWORD = "pLaNtEdPaSsWoRd"

SETTINGS = AlertSettings(
    channels=(
        AlertChannel("prod-slack", "slack", "PROD_SLACK_URL"),
        AlertChannel("ops-hook", "webhook", "OPS_HOOK_URL"),
        AlertChannel("oncall-mail", "sns"),
    )
)

#: (id, the secret's value, what the log must say: one note holding each of these words).
UNUSABLE: list[tuple[str, str, str]] = [
    ("not-json", SLACK, "is not JSON"),
    ("json-array", json.dumps([SLACK]), "is a JSON array"),
    ("json-string", json.dumps(SLACK), "is a JSON string"),
    ("plain-http", json.dumps({"prod-slack": SLACK.replace("https", "http")}), "'prod-slack'"),
    ("no-scheme", json.dumps({"prod-slack": SLACK.removeprefix("https://")}), "'prod-slack'"),
    ("not-a-string", json.dumps({"prod-slack": {"url": SLACK}}), "'prod-slack'"),
    (
        "user-in-url",
        json.dumps({"ops-hook": f"https://me:{PASSWORD}@hooks.example.org/"}),
        "'ops-hook'",
    ),
    (
        "space-in-url",
        json.dumps({"ops-hook": f"https://hooks.example.org/{TOKEN} x"}),
        "'ops-hook'",
    ),
    ("too-long", json.dumps({"ops-hook": HOOK + "x" * 2048}), "'ops-hook'"),
    # Name and URL swapped: the key is the URL, and is not quoted back.
    ("url-as-key", json.dumps({SLACK: "prod-slack"}), "a key that is not a channel name"),
    ("upper-case-name", json.dumps({"Prod-Slack": SLACK}), "a key that is not a channel name"),
    (
        "one-bad-among-good",
        json.dumps({"prod-slack": SLACK, "ops-hook": "ftp://x"}),
        "'ops-hook'",
    ),
    ("too-many", json.dumps({f"c{i}": SLACK for i in range(11)}), "11 entries, at most 10"),
    ("nested-too-deep", "[" * 100 + "]" * 100, "is not JSON"),
]


@pytest.mark.parametrize(("value", "said"), [c[1:] for c in UNUSABLE], ids=[c[0] for c in UNUSABLE])
def test_a_secret_that_is_not_name_to_https_url_configures_no_channel(
    value: str, said: str
) -> None:
    got = webhook_urls(Secret(value), SETTINGS)
    assert got.urls == {}
    [note] = got.notes
    assert said in note and "every slack and webhook channel is not configured" in note
    assert TOKEN not in note and PASSWORD not in note
    # The schema other tools read the secret by refuses it too, whenever it is JSON at all.
    try:
        doc = json.loads(value)
    except ValueError:
        return
    assert problems(WEBHOOKS_SCHEMA, doc) != []


def test_each_slack_and_webhook_channel_gets_its_url_under_its_name() -> None:
    value = json.dumps({"prod-slack": SLACK, "ops-hook": HOOK})
    assert problems(WEBHOOKS_SCHEMA, json.loads(value)) == []
    got = webhook_urls(Secret(value), SETTINGS)
    assert {k: v.reveal() for k, v in got.urls.items()} == {
        "alerts:prod-slack": SLACK,
        "alerts:ops-hook": HOOK,
    }
    assert got.notes == ()
    assert TOKEN not in repr(got)  # Secret objects: a stray print shows no URL


def test_names_no_webhook_channel_has_are_ignored_and_a_missing_one_is_said() -> None:
    # An sns channel has no URL; "old-hook" was taken out of fleet.toml but not the secret.
    value = json.dumps({"prod-slack": SLACK, "oncall-mail": HOOK, "old-hook": HOOK})
    got = webhook_urls(Secret(value), SETTINGS)
    assert set(got.urls) == {"alerts:prod-slack"}
    assert set(got.notes) == {
        "alerts: the webhook secret names 'oncall-mail', which is no slack or webhook channel "
        "in fleet.toml; ignored",
        "alerts: the webhook secret names 'old-hook', which is no slack or webhook channel "
        "in fleet.toml; ignored",
        "alerts: the webhook secret has no URL for channel 'ops-hook'; it is not configured",
    }


def test_an_unfilled_secret_configures_nothing_and_says_nothing() -> None:
    # read_secret gives None for an empty secret or a placeholder ("{}", "REPLACE_ME").
    assert webhook_urls(None, SETTINGS) == webhook_urls(None, None)
    assert webhook_urls(None, SETTINGS).urls == {} and webhook_urls(None, SETTINGS).notes == ()

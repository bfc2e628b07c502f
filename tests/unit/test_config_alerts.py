"""[alerts] in fleet.toml: a good section gives the settings (the dataclass's defaults for
what it leaves out), and each mistake is refused by `validate` with one line naming the file,
the key path and the value, and saying what would fix it.

The messages are the interface, so these tests assert them exactly.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from tests.configs import GOOD

from fleetboard import cli, config
from fleetboard.config.shape import fleet_schema
from fleetboard.inventory import ALERT_LEVELS, CHANNEL_KINDS, AlertChannel, AlertSettings, Hold

SNS = '[[alerts.channels]]\nname = "oncall-mail"\nkind = "sns"\n'
SLACK = (
    '[[alerts.channels]]\nname = "oncall-slack"\nkind = "slack"\n'
    'url_env = "FLEETBOARD_ONCALL_SLACK_URL"\n'
)

#: A webhook URL of the form Slack gives out: a secret, so never repeated in a message.
WEBHOOK_URL = "https://hooks.slack.invalid/services/T0000/B0000/sEcReTtOkEn"


def alerts(lines: str, channels: str = SNS) -> str:
    """GOOD with an [alerts] table of `lines`, then its channels."""
    return GOOD + "\n[alerts]\n" + lines + "\n" + channels


# The refusals several cases share, worded once (each after "<path>: ").
def no_channel(where: str) -> str:
    return (
        f"alerts.channels: {where}: no channel to send to; add a [[alerts.channels]] table "
        '(name = "oncall", kind = "sns", "slack" or "webhook"), or remove [alerts] to turn alerts off'
    )


def url_env_missing(index: int, kind: str, name: str, example: str) -> str:
    return (
        f'alerts.channels.{index}.url_env: missing: a "{kind}" channel needs the environment '
        f'variable that holds its webhook URL on a laptop, e.g. url_env = "{example}" (the URL '
        f'is a secret, never in fleet.toml; on Lambda it is the webhook secret\'s key "{name}")'
    )


def sns_url_env(index: int) -> str:
    return (
        f'alerts.channels.{index}.url_env: "FLEETBOARD_TOPIC" is for slack and webhook channels; '
        'an "sns" channel publishes to the stack\'s own SNS topic, which needs no URL: remove url_env'
    )


def same_name(index: int) -> str:
    return (
        f'alerts.channels.{index}.name: "oncall-mail" is already the name of alerts.channels.0; '
        "give each channel its own (the page, the log and the webhook secret tell them apart by it)"
    )


def amber_never_heard(index: int, levels: str, amber: str) -> str:
    """`amber`: how the message says alerts.amber is false ("false (the default)" or "false")."""
    return (
        f'alerts.channels.{index}.levels: {levels} names "amber", but alerts.amber is {amber} and '
        "alerts.forecasts is false, so this channel would never hear anything at amber; set "
        'amber = true or forecasts = true in [alerts], or leave "amber" out of levels'
    )


def not_a_board_url(shown: str, more: str = "") -> str:
    return (
        f'alerts.board_url: "{shown}" is not the board\'s address as links take it: an https '
        "URL without a user name, a query, a fragment or a trailing slash, such as "
        f'"https://board.example.org" (http only for a board on this machine, http://127.0.0.1:8000){more}'
    )


def looks_like_a_url(example: str) -> str:
    return (
        "alerts.channels.0.url_env: looks like a URL (not repeated here: a webhook URL is a "
        "secret, never in fleet.toml); put the URL in an environment variable and give that "
        f'variable\'s name, e.g. url_env = "{example}"'
    )


def write(folder: Path, text: str) -> Path:
    path = folder / "fleet.toml"
    path.write_text(text)
    return path


def refused(path: Path) -> list[str]:
    with pytest.raises(config.ConfigError) as caught:
        config.load(path)
    return caught.value.problems


# --------------------------------------------------------------------------- loaded


def test_no_alerts_section_means_no_alerts(tmp_path: Path) -> None:
    assert config.load(write(tmp_path, GOOD)).inventory.alerts is None


def test_a_section_of_one_channel_takes_every_default(tmp_path: Path) -> None:
    settings = config.load(write(tmp_path, alerts(""))).inventory.alerts
    # The defaults are the dataclasses' own: nothing in the config path restates them.
    assert settings == AlertSettings(channels=(AlertChannel(name="oncall-mail", kind="sns"),))
    [channel] = settings.channels
    assert channel.hears("prod", "red") and channel.hears("test-2", "amber")


def test_a_section_written_in_full_loads_as_written(tmp_path: Path) -> None:
    text = alerts(
        "amber = true\nfail_passes = 3\nrecover_passes = 4\nremind_minutes = 0\n"
        'digest_over = 10\nforecasts = false\nboard_url = "https://board.litentry.org"\n',
        SNS + 'levels = ["red"]\n' + SLACK + 'environments = ["prod"]\nlevels = ["amber"]\n',
    )
    settings = config.load(write(tmp_path, text)).inventory.alerts
    assert settings is not None
    assert dataclasses.replace(settings, channels=()) == AlertSettings(
        channels=(),
        amber=True,
        fail_passes=3,
        recover_passes=4,
        remind_minutes=0,
        digest_over=10,
        forecasts=False,
        board_url="https://board.litentry.org",
    )
    mail, slack = settings.channels
    assert (mail.name, mail.kind, mail.url_env) == ("oncall-mail", "sns", None)
    assert mail.hears("test-2", "red") and not mail.hears("test-2", "amber")
    assert (slack.name, slack.kind, slack.url_env) == (
        "oncall-slack",
        "slack",
        "FLEETBOARD_ONCALL_SLACK_URL",
    )
    assert slack.hears("prod", "amber")
    assert not slack.hears("test-2", "amber") and not slack.hears("prod", "red")


def test_holds_by_level_and_by_environment_load_and_the_environments_wins(
    tmp_path: Path,
) -> None:
    text = alerts(
        "fail_passes = 3\n"
        "[alerts.levels.amber]\nfail_passes = 6\n"
        "[alerts.environments.prod]\nfail_passes = 1\nrecover_passes = 4\n",
    )
    settings = config.load(write(tmp_path, text)).inventory.alerts
    assert settings is not None
    assert settings.levels == {"amber": Hold(fail_passes=6)}
    assert settings.environments == {"prod": Hold(fail_passes=1, recover_passes=4)}
    assert settings.passes("prod", "red") == (1, 4)  # prod pages after one pass
    assert settings.passes("prod", "amber") == (1, 4)  # its own hold before the level's
    assert settings.passes("test-2", "amber") == (6, 2)
    assert settings.passes("test-2", "red") == (3, 2)
    assert settings.longest() == 6


def test_a_channel_may_name_an_environment_whose_own_table_is_refused(tmp_path: Path) -> None:
    """Its table's mistake is reported there; the channel is not blamed for naming it."""
    text = alerts("", SNS + 'environments = ["test-2"]\n').replace(
        'broker_host = "broker-test-2.litentry.org"',
        'broker_host = "broker-test-2.litentry.org"\nslot = 0',
    )
    path = write(tmp_path, text)
    assert refused(path) == [f"{path}: environments.test-2.slot: 0 must be at least 1"]


def test_the_examples_commented_alerts_are_valid_once_uncommented() -> None:
    example = Path(__file__).parents[2] / "fleet.example.toml"
    text = example.read_text()
    block = text[text.index("# [alerts]") :].split("\n\n", 1)[0]
    uncommented = "\n".join(line.removeprefix("# ") for line in block.splitlines())
    settings = config.loads(text + "\n" + uncommented + "\n").inventory.alerts
    assert settings is not None
    assert [(c.name, c.kind) for c in settings.channels] == [
        ("oncall-mail", "sns"),
        ("prod-slack", "slack"),
    ]
    # It shows the defaults, so uncommenting it changes nothing but the channels and the link.
    assert dataclasses.replace(settings, channels=(), board_url=None) == AlertSettings(channels=())


def test_the_schema_offers_the_kinds_and_levels_the_settings_know() -> None:
    channel = fleet_schema()["$defs"]["alert_channel"]["properties"]
    assert tuple(channel["kind"]["enum"]) == CHANNEL_KINDS
    assert tuple(channel["levels"]["items"]["enum"]) == ALERT_LEVELS


# --------------------------------------------------------------------------- refused

#: (id, fleet.toml, the message after "<path>: "; a list where one file has two mistakes).
REFUSED: list[tuple[str, str, str | list[str]]] = [
    (
        "no-channels",
        alerts("amber = true", channels=""),
        no_channel("missing"),
    ),
    (
        "an-empty-channel-list",
        alerts("channels = []", channels=""),
        no_channel("[] is empty"),
    ),
    (
        "eleven-channels",
        alerts(
            "",
            "".join(
                f'[[alerts.channels]]\nname = "hook-{i}"\nkind = "webhook"\nurl_env = "HOOK_{i}"\n'
                for i in range(11)
            ),
        ),
        "alerts.channels: 11 channels; at most 10, as a pass sends to each within its deadline: fan out from one of them instead (the SNS topic takes any number of subscriptions)",
    ),
    (
        "two-channels-of-one-name",
        alerts("", SNS + SLACK.replace("oncall-slack", "oncall-mail")),
        same_name(1),
    ),
    (
        "slack-without-url-env",
        alerts("", '[[alerts.channels]]\nname = "oncall-slack"\nkind = "slack"\n'),
        url_env_missing(0, "slack", "oncall-slack", "FLEETBOARD_ONCALL_SLACK_URL"),
    ),
    (
        "webhook-without-url-env",
        alerts("", SNS + '[[alerts.channels]]\nname = "pager"\nkind = "webhook"\n'),
        url_env_missing(1, "webhook", "pager", "FLEETBOARD_PAGER_URL"),
    ),
    (
        "sns-with-url-env",
        alerts("", SNS + 'url_env = "FLEETBOARD_TOPIC"\n'),
        sns_url_env(0),
    ),
    (
        "an-environment-the-file-lacks",
        alerts("", SNS + 'environments = ["prod", "tset-2"]\n'),
        'alerts.channels.0.environments: "tset-2" is not an environment of this file; did you mean "test-2"? (known: "prod", "test-2")',
    ),
    (
        "amber-level-under-the-default-amber-without-forecasts",
        alerts("forecasts = false", SNS + 'levels = ["red", "amber"]\n'),
        amber_never_heard(0, '["red", "amber"]', "false (the default)"),
    ),
    (
        "amber-level-with-amber-and-forecasts-false",
        alerts("amber = false\nforecasts = false", SNS + 'levels = ["amber"]\n'),
        amber_never_heard(0, '["amber"]', "false"),
    ),
    (
        "two-sns-channels",
        alerts("", SNS + "\n" + SNS.replace('"oncall-mail"', '"oncall-mail-2"')),
        'alerts.channels.1.kind: "sns" again (alerts.channels.0 is one): both publish to the stack\'s one topic, so every message would arrive twice; keep one sns channel',
    ),
    (
        "a-hold-for-an-undeclared-environment",
        alerts("[alerts.environments.stage]\nfail_passes = 1\n"),
        'alerts.environments.stage: "stage" is not an environment of this file (known: "prod", "test-2")',
    ),
    (
        "a-hold-for-a-level-there-is-not",
        alerts("[alerts.levels.orange]\nfail_passes = 1\n"),
        "alerts.levels.orange: unknown key (known here: red, amber)",
    ),
    (
        "an-empty-hold",
        alerts("[alerts.levels.red]\n"),
        "alerts.levels.red: is empty: give it fail_passes, recover_passes or both (1 to 20)",
    ),
    (
        "reminders-every-3-minutes",
        alerts("remind_minutes = 3"),
        "alerts.remind_minutes: 3 reminds more often than every 5 minutes; give 5 or more, or 0 for no reminders",
    ),
    (
        "reminders-past-a-day",
        alerts("remind_minutes = 1441"),
        "alerts.remind_minutes: 1441 must be at most 1440",
    ),
    (
        "no-pass-to-hold-for",
        alerts("fail_passes = 0"),
        "alerts.fail_passes: 0 must be at least 1",
    ),
    (
        "recovery-held-too-long",
        alerts("recover_passes = 21"),
        "alerts.recover_passes: 21 must be at most 20",
    ),
    (
        "a-digest-of-none",
        alerts("digest_over = 0"),
        "alerts.digest_over: 0 must be at least 1",
    ),
    (
        "amber-as-a-string",
        alerts('amber = "yes"'),
        'alerts.amber: "yes" is a string; expected true or false',
    ),
    (
        "a-board-url-over-http",
        alerts('board_url = "http://board.litentry.org"'),
        not_a_board_url("http://board.litentry.org"),
    ),
    (
        "a-board-url-with-a-query",
        alerts('board_url = "https://board.litentry.org/?env=prod"'),
        not_a_board_url("https://board.litentry.org/?env=prod"),
    ),
    (
        "a-board-url-with-a-fragment",
        alerts('board_url = "https://board.litentry.org#prod"'),
        not_a_board_url("https://board.litentry.org#prod"),
    ),
    (
        "a-board-url-with-a-trailing-slash",
        alerts('board_url = "https://board.litentry.org/"'),
        not_a_board_url("https://board.litentry.org/"),
    ),
    (
        "a-board-url-with-a-password",
        alerts('board_url = "https://viewer:hunter2@board.litentry.org"'),
        not_a_board_url(
            "https://***@board.litentry.org",
            "; it holds a user name or password; credentials go in a secret",
        ),
    ),
    (
        "a-webhook-url-in-the-file",
        alerts(
            "",
            '[[alerts.channels]]\nname = "oncall-slack"\nkind = "slack"\n'
            'url = "https://hooks.slack.invalid/services/T0/B0/x"\n',
        ),
        "alerts.channels.0.url: unknown key; did you mean 'url_env'? (known here: name, kind, url_env, environments, levels)",
    ),
    (
        "a-kind-there-is-none-of",
        alerts("", '[[alerts.channels]]\nname = "mail"\nkind = "email"\n'),
        'alerts.channels.0.kind: "email" is not one of "sns", "slack", "webhook"',
    ),
    (
        "a-channel-without-a-kind",
        alerts("", '[[alerts.channels]]\nname = "mail"\n'),
        'alerts.channels.0.kind: missing: "sns" (the stack\'s own topic), "slack" (a Slack incoming webhook) or "webhook" (the generic JSON)',
    ),
    (
        "a-channel-without-a-name",
        alerts("", '[[alerts.channels]]\nkind = "sns"\n'),
        'alerts.channels.0.name: missing: how the page, the log and the webhook secret name the channel, e.g. "oncall-slack"',
    ),
    (
        "a-channel-name-with-capitals",
        alerts("", SNS.replace("oncall-mail", "Oncall_Mail")),
        'alerts.channels.0.name: "Oncall_Mail" is not a channel name such as "oncall-slack" (lower-case letters, digits and \'-\', at most 40)',
    ),
    (
        "a-url-env-that-is-no-variable-name",
        alerts("", SLACK.replace("FLEETBOARD_ONCALL_SLACK_URL", "slack url")),
        'alerts.channels.0.url_env: "slack url" is not an environment variable name such as "FLEETBOARD_ONCALL_SLACK_URL" (upper-case letters, digits and \'_\', at most 64)',
    ),
    (
        "a-webhook-url-pasted-into-url-env",
        alerts("", SLACK.replace("FLEETBOARD_ONCALL_SLACK_URL", WEBHOOK_URL)),
        looks_like_a_url("FLEETBOARD_ONCALL_SLACK_URL"),
    ),
    (
        "a-webhook-url-on-an-sns-channel",
        alerts("", SNS + f'url_env = "{WEBHOOK_URL}"\n'),
        looks_like_a_url("FLEETBOARD_ONCALL_MAIL_URL"),
    ),
    (
        "a-level-there-is-none-of",
        alerts("", SNS + 'levels = ["red", "green"]\n'),
        'alerts.channels.0.levels.1: "green" is not one of "red", "amber"',
    ),
    (
        "no-levels",
        alerts("", SNS + "levels = []\n"),
        "alerts.channels.0.levels: [] is empty; list at least 1",
    ),
    (
        "no-environments",
        alerts("", SNS + "environments = []\n"),
        "alerts.channels.0.environments: [] is empty; list at least 1",
    ),
    (
        "alerts-as-an-array",
        GOOD + "\n[[alerts]]\namber = true\n",
        'alerts: [{"amber": true}] is an array; expected a table',
    ),
    (
        "every-mistake-at-once",
        alerts(
            "remind_minutes = 2\nforecasts = false",
            SNS
            + 'url_env = "FLEETBOARD_TOPIC"\nenvironments = ["stage"]\n'
            + '[[alerts.channels]]\nname = "oncall-mail"\nkind = "webhook"\nlevels = ["amber"]\n',
        ),
        [
            sns_url_env(0),
            'alerts.channels.0.environments: "stage" is not an environment of this file (known: "prod", "test-2")',
            same_name(1),
            url_env_missing(1, "webhook", "oncall-mail", "FLEETBOARD_ONCALL_MAIL_URL"),
            amber_never_heard(1, '["amber"]', "false (the default)"),
            "alerts.remind_minutes: 2 reminds more often than every 5 minutes; give 5 or more, or 0 for no reminders",
        ],
    ),
]


@pytest.mark.parametrize(("text", "message"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_a_mistake_in_alerts_is_named(text: str, message: str | list[str], tmp_path: Path) -> None:
    path = write(tmp_path, text)
    messages = message if isinstance(message, list) else [message]
    assert refused(path) == [f"{path}: {m}" for m in messages]


#: Checks of the builder and of the schema, through the command itself.
THROUGH_VALIDATE = [
    r
    for r in REFUSED
    if r[0]
    in {
        "no-channels",
        "slack-without-url-env",
        "a-webhook-url-in-the-file",
    }
]


@pytest.mark.parametrize(
    ("text", "message"), [r[1:] for r in THROUGH_VALIDATE], ids=[r[0] for r in THROUGH_VALIDATE]
)
def test_validate_refuses_it_with_exit_2(
    text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, text)
    assert cli.main(["validate", "--config", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [f"{path}: {message}"]


@pytest.mark.parametrize(
    "case",
    [
        "a-webhook-url-pasted-into-url-env",
        "a-webhook-url-on-an-sns-channel",
        "a-webhook-url-in-the-file",
    ],
)
def test_a_webhook_url_written_into_the_file_is_never_said_back(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    [text] = [r[1] for r in REFUSED if r[0] == case]
    path = write(tmp_path, text)
    assert cli.main(["validate", "--config", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err  # refused, and said why
    secret = WEBHOOK_URL.rsplit("/", 1)[1]
    assert secret not in captured.out + captured.err


def test_validate_takes_a_good_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, alerts("amber = true", SNS + SLACK))
    assert cli.main(["validate", "--config", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: ok")

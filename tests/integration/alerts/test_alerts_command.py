"""`fleetboard alerts test`: a marked test message to every channel, and which answered,
against the loopback receiver over HTTPS and moto's SNS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.configs import GOOD

from fleetboard import cli
from fleetboard.alerts import message, saved
from fleetboard.demo.receiver import Receiver
from fleetboard.publish import LocalPublisher

HOOK_ENV = "FLEETBOARD_TEST_HOOK_URL"
SLACK_ENV = "FLEETBOARD_TEST_SLACK_URL"
TOKEN = "T0TEST/B0CMD/sEcReTtOkEn"


def fleet_toml(folder: Path, receiver: Receiver, channels: str) -> Path:
    path = folder / "fleet.toml"
    path.write_text(
        GOOD
        + f'\n[probe]\nca_bundle = "{receiver.ca_bundle}"\n'
        + '\n[alerts]\nboard_url = "https://board.example"\n'
        + channels
    )
    return path


HOOK = f'[[alerts.channels]]\nname = "ops"\nkind = "webhook"\nurl_env = "{HOOK_ENV}"\n'
SLACK = f'[[alerts.channels]]\nname = "team"\nkind = "slack"\nurl_env = "{SLACK_ENV}"\n'
SNS = '[[alerts.channels]]\nname = "mail"\nkind = "sns"\n'


def test_every_channel_gets_one_marked_message_and_the_lines_say_who_answered(
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = fleet_toml(tmp_path, receiver, HOOK + SLACK + SNS)
    monkeypatch.setenv(HOOK_ENV, receiver.url(f"/hooks/{TOKEN}"))
    monkeypatch.delenv(SLACK_ENV, raising=False)
    monkeypatch.delenv("FLEETBOARD_ALERT_TOPIC_ARN", raising=False)
    code = cli.main(["alerts", "test", "--config", str(config)])
    out = capsys.readouterr().out
    assert code == 1  # two of the three are not configured on this machine
    assert "  ops (webhook): answered: 200" in out
    assert f"  team (slack): NOT answered: not configured: {SLACK_ENV} is not set" in out
    assert "  mail (sns): NOT answered: not configured: no SNS topic" in out
    assert "2 of 3 did not answer" in out
    (got,) = receiver.received
    doc: dict[str, Any] = json.loads(got.body)
    assert message.SCHEMA.problems(doc) == []
    assert doc["kind"] == "test" and doc["title"].startswith("TEST")
    assert TOKEN not in out


def test_all_answered_is_exit_0_and_nothing_of_the_alerting_changes(
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = fleet_toml(tmp_path, receiver, HOOK)
    monkeypatch.setenv(HOOK_ENV, receiver.url(f"/hooks/{TOKEN}"))
    assert cli.main(["alerts", "test", "--config", str(config)]) == 0
    assert "ops (webhook): answered: 200" in capsys.readouterr().out
    assert len(receiver.received) == 1
    assert saved.load(LocalPublisher(tmp_path)).last is None  # no state written anywhere
    assert not (tmp_path / "state").exists()


def test_a_fleet_without_alerts_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "fleet.toml"
    config.write_text(GOOD)
    assert cli.main(["alerts", "test", "--config", str(config)]) == 2
    assert "no [alerts]: there is no channel to test" in capsys.readouterr().out


def test_the_topic_answers_with_the_operators_own_credentials(
    tmp_path: Path,
    receiver: Receiver,
    moto_url: str,
    sns: Any,
    sqs: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = sns.create_topic(Name="fleetboard-alarms")["TopicArn"]
    queue = sqs.create_queue(QueueName="oncall")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    config = fleet_toml(tmp_path, receiver, SNS)
    config.write_text(config.read_text() + f'\n[aws]\nendpoint_url = "{moto_url}"\n')
    monkeypatch.setenv("FLEETBOARD_ALERT_TOPIC_ARN", topic)
    # The operator's own credentials (moto takes any).
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert cli.main(["alerts", "test", "--config", str(config)]) == 0
    assert "mail (sns): answered: MessageId " in capsys.readouterr().out
    (got,) = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2)["Messages"]
    envelope = json.loads(got["Body"])
    assert envelope["Subject"].startswith("[fleetboard] TEST")

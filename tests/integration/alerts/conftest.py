"""Real parts for the delivery tests: the loopback webhook receiver, the shared moto server
(tests/integration/conftest.py) emptied for each test, and a leak check for the secret URL."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from tests.integration.alerts.planted import SECRETS
from tests.integration.fixtures.aws import moto_client

from fleetboard.alerts.deliver import Delivery
from fleetboard.demo.aws_world import reset_moto
from fleetboard.demo.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The receiver, answering 200 "ok" until a test says otherwise; stopped after."""
    with Receiver(tick_s=0.05) as hooks:
        yield hooks


@pytest.fixture
def moto_url(moto_server: str) -> Iterator[str]:
    """The moto server, emptied for this test."""
    reset_moto(moto_server)
    yield moto_server


@pytest.fixture
def sns(moto_url: str) -> object:
    return moto_client("sns", moto_url)


@pytest.fixture
def sqs(moto_url: str) -> object:
    return moto_client("sqs", moto_url)


@pytest.fixture
def no_leak(caplog: pytest.LogCaptureFixture) -> Callable[[Delivery, str], None]:
    """`no_leak(delivery, url)`: neither the URL nor its tokens are in the delivery or in any
    log record of the test, urllib3's DEBUG lines included (captured from every logger)."""
    caplog.set_level(logging.DEBUG)

    def check(delivery: Delivery, url: str) -> None:
        said = [repr(delivery), delivery.detail]
        for record in caplog.records:
            said += [record.getMessage(), record.exc_text or "", str(record.args)]
        for text in said:
            for secret in (url, *SECRETS):
                assert secret not in text, f"{secret!r} leaked into {text!r}"

    return check

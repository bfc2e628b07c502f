"""fleet.toml checking: each kind of mistake gets its own message naming file, key and value.

The messages are the interface (STYLE: mkdocs), so these tests assert them exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetboard import config
from fleetboard.inventory import Address
from fleetboard.model import EnvKind

GOOD = """
[fleet]
zone = "litentry.org"
zone_id = "Z09723983CFJOHAE3VC65"
region = "us-east-1"

[environments.prod]
broker_host = "broker.litentry.org"

[environments.test-2]
broker_host = "broker-test-2.litentry.org"
"""


def problems(text: str, name: str = "fleet.toml") -> list[str]:
    with pytest.raises(config.ConfigError) as caught:
        config.loads(text, source=name)
    return caught.value.problems


def test_the_good_config_loads() -> None:
    inv = config.loads(GOOD).inventory
    assert [e.name for e in inv.environments] == ["prod", "test-2"]


MISTAKES = [
    (
        "unknown key, with a suggestion",
        GOOD.replace('region = "us-east-1"', 'region = "us-east-1"\nworkrs = ["audit"]'),
        "fleet.toml: fleet.workrs: unknown key; did you mean 'workers'? (known here: name, zone, "
        "zone_id, region, eip_tag_pattern, services, workers, optional, bucket_pattern, period_s)",
    ),
    (
        "wrong type",
        GOOD + '[probe]\nconnect_timeout_s = "3"\n',
        'fleet.toml: probe.connect_timeout_s: "3" is a string; expected a number',
    ),
    (
        "missing zone",
        GOOD.replace('zone = "litentry.org"\n', ""),
        'fleet.toml: fleet.zone: missing: the Route 53 zone every host lives in, e.g. "litentry.org"',
    ),
    (
        "bad tag pattern",
        GOOD.replace(
            'region = "us-east-1"', 'region = "us-east-1"\neip_tag_pattern = "agentkeys eip*"'
        ),
        'fleet.toml: fleet.eip_tag_pattern: "agentkeys eip*" has a space; tag patterns take '
        "letters, digits, '-', '_', '.', '*' and '?'",
    ),
    (
        "duplicate environment",
        GOOD + '\n[environments.test-2]\nbroker_host = "broker-test-2.litentry.org"\n',
        "fleet.toml: line 13: environment 'test-2' is declared twice; keep one "
        "[environments.test-2] table",
    ),
    (
        "two environments claiming one slot",
        GOOD + '\n[environments.other]\nbroker_host = "broker-test-9.litentry.org"\nslot = 2\n',
        "fleet.toml: environments.other.slot: 2 is already the slot of environments.test-2",
    ),
    (
        "an EIP tag discovery would never find",
        GOOD.replace(
            'broker_host = "broker-test-2.litentry.org"',
            'broker_host = "broker-test-2.litentry.org"\neip_tag = "slot-2-eip"',
        ),
        'fleet.toml: environments.test-2.eip_tag: "slot-2-eip" does not match '
        'fleet.eip_tag_pattern "agentkeys-broker-eip*", so discovery would never find its EIP',
    ),
    (
        "a broker name with no suffix rule",
        GOOD.replace("broker-test-2.litentry.org", "gateway.litentry.org"),
        'fleet.toml: environments.test-2.broker_host: "gateway.litentry.org" does not follow the '
        'broker naming rule (broker., test-broker., broker-test-N., broker-base.); set "suffix"',
    ),
    (
        "an address with a bad port",
        GOOD.replace(
            'broker_host = "broker.litentry.org"',
            'broker_host = "broker.litentry.org"\naddress = "127.0.0.1:99999"',
        ),
        'fleet.toml: environments.prod.address: "127.0.0.1:99999" has port 99999; '
        "ports run from 1 to 65535",
    ),
    (
        "an override of a host the environment does not have",
        GOOD + '\n[environments.prod.hosts.audt]\naddress = "127.0.0.1"\n',
        "fleet.toml: environments.prod.hosts.audt: no such service in this environment; did you "
        "mean 'audit'? (known: audit, broker, classify, config, cred, email, memory, signer)",
    ),
    (
        "not TOML at all",
        GOOD.replace('zone = "litentry.org"', "zone = "),
        "fleet.toml: line 3: not valid TOML (Invalid value)",
    ),
    (
        "an environment name with capitals",
        GOOD.replace("[environments.test-2]", "[environments.Test_2]"),
        'fleet.toml: environments: "Test_2" environment names take lower-case letters, digits '
        "and '-' (at most 40)",
    ),
    (
        "red threshold above amber",
        GOOD + "[thresholds]\ntls_amber_days = 10\ntls_red_days = 14\n",
        "fleet.toml: thresholds.tls_red_days: 14 is more than tls_amber_days (10); red must come "
        "at fewer days left than amber",
    ),
    (
        "not an address",
        GOOD + '[chain]\nchain_id = 212013\n[environments.prod.chain]\ndeployer = "0x1234"\n',
        'fleet.toml: environments.prod.chain.deployer: "0x1234" is not an address such as '
        '"0xdE644936D5B7d5d42032fd08bbA42Fbbfd6663Bc"',
    ),
    (
        "an amount finer than the token",
        GOOD + '[chain]\nchain_id = 1\ndecimals = 6\npaymaster_min_deposit = "0.0000001"\n',
        'fleet.toml: chain.paymaster_min_deposit: "0.0000001" has more than 6 decimal places',
    ),
    (
        "a network nobody declared",
        GOOD
        + '[chain]\nchain_id = 212013\n[chain.networks.base]\nchain_id = 8453\ntoken = "ETH"\n'
        + '[environments.prod.chain]\nnetwork = "basee"\n',
        'fleet.toml: environments.prod.chain.network: "basee" is no [chain.networks] entry '
        "(declared: base)",
    ),
    (
        "a network's floor finer than its token",
        GOOD
        + "[chain]\nchain_id = 212013\n[chain.networks.base]\nchain_id = 8453\n"
        + 'decimals = 2\ndeploy_min = "0.003"\n',
        'fleet.toml: chain.networks.base.deploy_min: "0.003" has more than 2 decimal places',
    ),
    (
        "a chain identity with no [chain]",
        GOOD
        + '[environments.prod.chain]\ndeployer = "0xdE644936D5B7d5d42032fd08bbA42Fbbfd6663Bc"\n',
        "fleet.toml: environments.prod.chain: needs a [chain] section (at least chain_id) to be "
        "read",
    ),
    (
        "a Cognito domain prefix Cognito refuses",
        GOOD + '[deploy.auth]\ndomain_prefix = "aws-fleetboard"\n',
        'fleet.toml: deploy.auth.domain_prefix: "aws-fleetboard" is not a Cognito domain prefix: '
        'lower-case letters, digits and \'-\' (at most 63), without "aws", "amazon" or '
        '"cognito"',
    ),
    (
        "a user pool id without its client id",
        GOOD + '[deploy.auth]\ndomain_prefix = "acme-board"\nuser_pool_id = "us-east-1_AbC123"\n',
        "fleet.toml: deploy.auth.client_id: missing: deploy.auth.user_pool_id is set, and the "
        "edge function needs both (the fleetboard-auth stack's UserPoolId and ClientId outputs)",
    ),
    (
        "a user pool in another region",
        GOOD
        + '[deploy.auth]\ndomain_prefix = "acme-board"\nuser_pool_id = "eu-west-1_AbC123"\n'
        + 'client_id = "1h2j3k4l5m6n7o8p9q0r1s2t3u"\n',
        'fleet.toml: deploy.auth.user_pool_id: "eu-west-1_AbC123" is not in the fleet region '
        '"us-east-1"; the fleetboard-auth stack builds the pool there: copy its UserPoolId output',
    ),
]


def test_deploy_auth_is_read_with_its_defaults() -> None:
    loaded = config.loads(GOOD + '[deploy.auth]\ndomain_prefix = "acme-board"\n')
    assert loaded.deploy.auth == config.AuthSettings(domain_prefix="acme-board")
    assert loaded.deploy.auth.group == "fleetboard-viewers"
    assert not loaded.deploy.auth.ready
    assert config.loads(GOOD).deploy.auth is None


@pytest.mark.parametrize(
    ("text", "message"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES]
)
def test_each_mistake_has_its_own_clear_message(text: str, message: str) -> None:
    assert problems(text) == [message]


def test_every_problem_is_reported_at_once() -> None:
    text = (
        GOOD.replace('zone_id = "Z09723983CFJOHAE3VC65"', 'zone_id = "nope"')
        + '\n[environments.other]\nbroker_host = "broker-test-9.litentry.org"\nslot = 2\n'
        + "[probe]\nconcurrency = 0\n"
    )
    found = problems(text)
    assert len(found) == 2
    assert found[0].startswith('fleet.toml: fleet.zone_id: "nope" is not a Route 53 hosted zone id')
    assert found[1] == "fleet.toml: probe.concurrency: 0 must be at least 1"


def test_meaning_is_checked_for_the_environments_whose_shape_is_right() -> None:
    text = GOOD + (
        '\n[environments.bad]\nbroker_host = "broker-test-3.litentry.org"\nkind = "tset"\n'
        '\n[environments.other]\nbroker_host = "broker-test-9.litentry.org"\nslot = 2\n'
    )
    assert problems(text) == [
        'fleet.toml: environments.bad.kind: "tset" is not one of "prod", "base", "test-slot", "other"',
        "fleet.toml: environments.other.slot: 2 is already the slot of environments.test-2",
    ]


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.load(tmp_path / "nope.toml")
    assert caught.value.problems == [
        f"{tmp_path / 'nope.toml'}: cannot read the file (No such file or directory)"
    ]


def test_hostnames_follow_the_fleet_suffix_rule_with_overrides() -> None:
    text = GOOD + (
        '\n[environments.test]\nbroker_host = "test-broker.litentry.org"\n'
        '\n[environments.test.hosts.mcp]\nhostname = "test-mcp.litentry.org"\n'
    )
    text = text.replace(
        'region = "us-east-1"', 'region = "us-east-1"\nservices = ["signer", "mcp"]'
    )
    inv = config.loads(text).inventory
    names = {e.name: {h.label: h.hostname for h in e.hosts} for e in inv.environments}
    assert names["prod"]["worker:audit"] == "audit.litentry.org"
    assert names["test-2"]["signer"] == "signer-test-2.litentry.org"
    assert names["test"]["worker:cred"] == "cred-test.litentry.org"
    assert names["test"]["mcp"] == "test-mcp.litentry.org"  # the grandfathered exception
    kinds = {e.name: (e.kind, e.slot, e.eip_tag) for e in inv.environments}
    assert kinds["test"] == (EnvKind.TEST_SLOT, 1, "agentkeys-broker-eip-test")
    assert kinds["test-2"] == (EnvKind.TEST_SLOT, 2, "agentkeys-broker-eip-test-2")
    assert kinds["prod"] == (EnvKind.PROD, None, "agentkeys-broker-eip")


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1:8443", Address("127.0.0.1", 8443)),
        ("54.164.117.252", Address("54.164.117.252", 443)),
        ("[::1]:8443", Address("::1", 8443)),
        ("lb.internal:444", Address("lb.internal", 444)),
    ],
)
def test_address_overrides_connect_elsewhere_but_keep_the_hostname(
    text: str, address: Address
) -> None:
    inv = config.loads(
        GOOD.replace(
            'broker_host = "broker.litentry.org"',
            f'broker_host = "broker.litentry.org"\naddress = "{text}"',
        )
    ).inventory
    prod = inv.environment("prod")
    assert {h.address for h in prod.hosts} == {address}
    assert prod.broker.hostname == "broker.litentry.org"


def test_the_example_config_in_the_repo_is_valid() -> None:
    example = Path(__file__).parents[2] / "fleet.example.toml"
    loaded = config.load(example)
    assert loaded.inventory.environment("test-2").retired

"""fleet.toml checking: each kind of mistake gets its own message naming file, key and value.

The messages are the interface (STYLE: mkdocs), so these tests assert them exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest
from tests.configs import GOOD

from fleetboard import config
from fleetboard.config.shape import python_regex
from fleetboard.inventory import Address, OneOff, Recurring
from fleetboard.model import EnvKind


# GOOD with more lines in one of its tables: [probe] (added), [environments.prod], [fleet].
def probe(lines: str) -> str:
    return GOOD + "[probe]\n" + lines + "\n"


def window(lines: str) -> str:
    """GOOD with one [[maintenance]] table of `lines` (after its reason)."""
    return GOOD + '\n[[maintenance]]\nreason = "slot 2 rebuild"\n' + lines + "\n"


#: A one-off window's times, and a recurring one's keys, for `window`.
ONE_OFF = 'start = "2026-12-05T02:00:00Z"\nend = "2026-12-05T04:00:00Z"'
WEEKLY = 'every = "sunday"\nat = "03:00"\nfor_minutes = 60\ntimezone = "Europe/Berlin"'


def env_prod(lines: str) -> str:
    return GOOD.replace(
        'broker_host = "broker.litentry.org"', f'broker_host = "broker.litentry.org"\n{lines}'
    )


def fleet(lines: str) -> str:
    return GOOD.replace("[fleet]", f"[fleet]\n{lines}")


# The refusals several keys share, worded once (after the key path and ": ").
def invisible(shown: str, code: str, position: int) -> str:
    """A value holding a control or invisible character (`shown` as the message quotes it)."""
    return (
        f'"{shown}" has a control or invisible character (U+{code} at position {position}); '
        "values are one line of printable text"
    )


def longer_than_any(shown: str, length: int) -> str:
    """A value past every limit: its first 120 characters (`shown`), then its length."""
    return (
        f'"{shown}"… ({length} characters) is longer than any value fleet.toml takes '
        "(at most 4096 characters)"
    )


def not_a_host_name(shown: str, why: str) -> str:
    return f'"{shown}" is not a host name such as "broker.litentry.org" (lower case); {why}'


def not_an_address(shown: str, why: str) -> str:
    return (
        f'"{shown}" is not an address such as "54.164.117.252", "127.0.0.1:8443" or '
        f'"[::1]:8443"; {why}'
    )


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
        fleet('workrs = ["audit"]'),
        "fleet.toml: fleet.workrs: unknown key; did you mean 'workers'? (known here: name, zone, "
        "zone_id, region, eip_tag_pattern, services, workers, optional, bucket_pattern, period_s)",
    ),
    (
        "wrong type",
        probe('connect_timeout_s = "3"'),
        'fleet.toml: probe.connect_timeout_s: "3" is a string; expected a number',
    ),
    (
        "missing zone",
        GOOD.replace('zone = "litentry.org"\n', ""),
        'fleet.toml: fleet.zone: missing: the Route 53 zone every host lives in, e.g. "litentry.org"',
    ),
    (
        "bad tag pattern",
        fleet('eip_tag_pattern = "agentkeys eip*"'),
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
        env_prod('address = "127.0.0.1:99999"'),
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
        "a flapping window too short to flap in",
        GOOD + "[thresholds]\nflap_changes = 5\nflap_passes = 5\n",
        "fleet.toml: thresholds.flap_changes: 5 is not fewer than flap_passes (5); a check can "
        "change at most once a pass, so it could never be flapping",
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
    # ---- [[maintenance]]
    (
        "a window over an environment the file does not declare",
        window(f'environments = ["test-3"]\n{ONE_OFF}'),
        'fleet.toml: maintenance.0.environments: "test-3" is not an environment of this file; '
        'did you mean "test-2"? (known: "prod", "test-2")',
    ),
    (
        "a window over a check the environment does not have",
        window(f'checks = ["test-2/worker:audt"]\n{ONE_OFF}'),
        'fleet.toml: maintenance.0.checks: "test-2/worker:audt" names no check of test-2 (did '
        "you mean 'test-2/worker:audit'? its checks: machine, broker, broker:readyz, "
        "broker:issuer, signer, worker:audit, worker:email, worker:cred, worker:memory, "
        "worker:config, worker:classify, tls:broker, tls:signer, tls:audit, tls:email, tls:cred, "
        'tls:memory, tls:config, tls:classify; a name ending in "*" takes every check that '
        "starts so)",
    ),
    (
        "a check named without its environment",
        window(f'checks = ["worker:audit"]\n{ONE_OFF}'),
        'fleet.toml: maintenance.0.checks.0: "worker:audit" is not a check such as '
        '"test-2/worker:audit" (<environment>/<check name as the board shows it>, or '
        '"test-2/broker*" for every check whose name starts so)',
    ),
    (
        "a window that covers nothing",
        window(ONE_OFF),
        'fleet.toml: maintenance.0: covers nothing: name what it is for, environments = ["test"] '
        'or checks = ["test/worker:audit"]',
    ),
    (
        "a window without its reason",
        GOOD + f'\n[[maintenance]]\nenvironments = ["prod"]\n{ONE_OFF}\n',
        "fleet.toml: maintenance.0.reason: missing: what the page says the window is for, e.g. "
        '"slot 1 rebuild"',
    ),
    (
        "a window that ends before it starts",
        window(
            'environments = ["prod"]\nstart = "2026-12-05T04:00:00Z"\nend = "2026-12-05T02:00:00Z"'
        ),
        'fleet.toml: maintenance.0.end: "2026-12-05T02:00:00Z" is not after start '
        '"2026-12-05T04:00:00Z"',
    ),
    (
        "an overlong one-off window",
        window(
            'environments = ["prod"]\nstart = "2026-12-05T02:00:00Z"\nend = "2026-12-15T02:00:00Z"'
        ),
        'fleet.toml: maintenance.0.end: "2026-12-15T02:00:00Z" makes the window 10.0 days long; '
        "a window lasts at most 7 days (longer is not maintenance: mark the environment retired "
        "= true instead)",
    ),
    (
        "an overlong recurring window",
        window(f'environments = ["prod"]\n{WEEKLY.replace("60", "900")}'),
        "fleet.toml: maintenance.0.for_minutes: 900 minutes is 15 h; a recurring window lasts "
        "at most 12 h",
    ),
    (
        "a one-off time that is not UTC",
        window(f'environments = ["prod"]\n{ONE_OFF.replace("02:00:00Z", "02:00:00+01:00")}'),
        'fleet.toml: maintenance.0.start: "2026-12-05T02:00:00+01:00" is not a UTC time such as '
        '"2026-12-05T02:00:00Z" (one-off windows are in UTC, ending in Z; a recurring window '
        "takes a timezone)",
    ),
    (
        "a one-off time TOML reads as a date, not a string",
        window(
            f'environments = ["prod"]\n{ONE_OFF.replace(chr(34) + "2026-12-05T02:00:00Z" + chr(34), "2026-12-05T02:00:00Z")}'
        ),
        'fleet.toml: maintenance.0.start: "2026-12-05 02:00:00+00:00" is a date or time; '
        "expected a string; write it in quotes",
    ),
    (
        "a day the calendar does not have",
        window(
            'environments = ["prod"]\nstart = "2026-02-30T02:00:00Z"\nend = "2026-03-01T02:00:00Z"'
        ),
        'fleet.toml: maintenance.0.start: "2026-02-30T02:00:00Z" is not a real time (day is out '
        "of range for month)",
    ),
    (
        "a time zone the tz database does not know",
        window(f'environments = ["prod"]\n{WEEKLY.replace("Europe/Berlin", "Europe/Berln")}'),
        'fleet.toml: maintenance.0.timezone: "Europe/Berln" is not a time zone the tz database '
        'knows, such as "Europe/Berlin" or "UTC"; did you mean \'Europe/Berlin\'?',
    ),
    (
        "a time zone only this machine's own database has",
        window(f'environments = ["prod"]\n{WEEKLY.replace("Europe/Berlin", "localtime")}'),
        'fleet.toml: maintenance.0.timezone: "localtime" is not a time zone the tz database '
        'knows, such as "Europe/Berlin" or "UTC"',
    ),
    (
        "a recurring window without its time zone",
        window('environments = ["prod"]\nevery = "day"\nat = "03:00"\nfor_minutes = 60'),
        "fleet.toml: maintenance.0.timezone: missing: the time zone its `at` is read in, e.g. "
        '"Europe/Berlin" or "UTC"',
    ),
    (
        "a window both one-off and recurring",
        window(f'environments = ["prod"]\n{WEEKLY}\nstart = "2026-12-05T02:00:00Z"'),
        "fleet.toml: maintenance.0: mixes a one-off window (start) with a recurring one (every, "
        "at, for_minutes, timezone); make it two [[maintenance]] tables",
    ),
    (
        "a time of day that is not HH:MM",
        window(f'environments = ["prod"]\n{WEEKLY.replace("03:00", "3am")}'),
        'fleet.toml: maintenance.0.at: "3am" is not a time of day such as "03:00" (24-hour '
        "HH:MM, in the window's timezone)",
    ),
    (
        "[maintenance] for [[maintenance]]",
        GOOD + f'\n[maintenance]\nreason = "x"\nenvironments = ["prod"]\n{ONE_OFF}\n',
        'fleet.toml: maintenance: {"reason": "x", "environments": ["prod"], "start": '
        '"2026-12-05T02:00:00Z", "end": "2026-12-05T04:00:00Z"} is a table; expected an array; '
        "write each table as [[maintenance]]",
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


def test_maintenance_windows_load_as_written() -> None:
    text = window(f'environments = ["test-2"]\n{ONE_OFF}') + (
        f'\n[[maintenance]]\nreason = "weekly patching"\nchecks = ["prod/broker*"]\n{WEEKLY}\n'
    )
    one_off, weekly = config.loads(text).inventory.maintenance
    assert one_off.reason == "slot 2 rebuild" and one_off.environments == ("test-2",)
    assert one_off.when == OneOff(
        datetime(2026, 12, 5, 2, tzinfo=UTC), datetime(2026, 12, 5, 4, tzinfo=UTC)
    )
    assert weekly.when == Recurring("sunday", time(3, 0), 60, "Europe/Berlin")
    [prod_broker] = weekly.checks
    names = config.loads(GOOD).inventory.environment("prod").check_names()
    assert [n for n in names if prod_broker.matches("prod", n)] == [
        "broker",
        "broker:readyz",
        "broker:issuer",
    ]
    assert not prod_broker.matches("test-2", "broker")


def test_a_window_refused_by_its_shape_leaves_the_others_checked() -> None:
    text = (
        window('environments = ["prod"]\nevery = "fortnight"')
        + '\n[[maintenance]]\nreason = "x"\nenvironments = ["nope"]\n'
        + ONE_OFF
        + "\n"
    )
    # The first window's shape, then the second's meaning, each by its own index.
    assert problems(text) == [
        'fleet.toml: maintenance.0.every: "fortnight" is not one of "day", "monday", '
        '"tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"',
        'fleet.toml: maintenance.1.environments: "nope" is not an environment of this file '
        '(known: "prod", "test-2")',
    ]


def test_a_window_may_name_an_environment_whose_own_table_is_refused() -> None:
    text = window(f'environments = ["test-2"]\n{ONE_OFF}').replace(
        'broker_host = "broker-test-2.litentry.org"',
        'broker_host = "broker-test-2.litentry.org"\nkind = "tset"',
    )
    # Only the environment's own mistake: the window naming it is not "unknown".
    assert problems(text) == [
        'fleet.toml: environments.test-2.kind: "tset" is not one of "prod", "base", '
        '"test-slot", "other"'
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
    inv = config.loads(env_prod(f'address = "{text}"')).inventory
    prod = inv.environment("prod")
    assert {h.address for h in prod.hosts} == {address}
    assert prod.broker.hostname == "broker.litentry.org"


def test_the_example_config_in_the_repo_is_valid() -> None:
    example = Path(__file__).parents[2] / "fleet.example.toml"
    loaded = config.load(example)
    assert loaded.inventory.environment("test-2").retired


def test_the_examples_commented_recurring_window_is_valid_once_uncommented() -> None:
    text = (Path(__file__).parents[2] / "fleet.example.toml").read_text()
    block = text[text.index("# [[maintenance]]") :].splitlines()
    uncommented = "\n".join(line.removeprefix("# ") for line in block)
    _, weekly = config.loads(text + "\n" + uncommented + "\n").inventory.maintenance
    assert weekly.when == Recurring("sunday", time(3, 0), 60, "Europe/Berlin")
    assert weekly.environments == ("prod",)


# --------------------------------------------------------------------------- refused up front
#
# Every malformed input is exit 2 from `fleetboard validate` and `fleetboard collect`, before
# anything runs, with one line naming the file, the key and the value (escaped, capped).


#: (id, fleet.toml, the message after "<path>: "; a list where one input breaks two keys). A
#: message ending in "(" is a prefix: the rest is OpenSSL's own words.
REFUSED = [
    (
        "nan-timeout",
        probe("read_timeout_s = nan"),
        "probe.read_timeout_s: nan is not a finite number",
    ),
    (
        "inf-threshold",
        GOOD + "[thresholds]\nslow_ms = inf\n",
        "thresholds.slow_ms: inf is not a finite number",
    ),
    (
        "minus-inf-aws-timeout",
        GOOD + "[aws]\nconnect_timeout_s = -inf\n",
        "aws.connect_timeout_s: -inf is not a finite number",
    ),
    (
        "nan-deadline",
        probe("pass_deadline_s = -nan"),
        "probe.pass_deadline_s: nan is not a finite number",
    ),
    (
        "nan-retry-delay",
        probe("retry_delay_s = nan"),
        "probe.retry_delay_s: nan is not a finite number",
    ),
    (
        "threshold-out-of-range",
        GOOD + "[thresholds]\nslow_ms = 1e300\n",
        "thresholds.slow_ms: 1e+300 must be at most 120000",
    ),
    (
        "integer-past-64-bits",
        probe("concurrency = 99999999999999999999"),
        "probe.concurrency: 99999999999999999999 does not fit in TOML's 64-bit integers",
    ),
    (
        "integer-of-5000-digits",
        probe("concurrency = " + "9" * 5000),
        "line 13: concurrency: an integer of thousands of digits; TOML integers are 64-bit",
    ),
    (
        "block-age-past-a-day",
        GOOD + "[chain]\nchain_id = 1\nmax_block_age_s = 86401\n",
        "chain.max_block_age_s: 86401 must be at most 86400",
    ),
    (
        "trailing-newline",
        GOOD.replace('region = "us-east-1"', 'region = "us-east-1\\n"'),
        "fleet.region: " + invisible("us-east-1\\n", "000A", 9),
    ),
    (
        "tab-in-a-host-name",
        GOOD.replace('"broker.litentry.org"', '"broker.litentry.org\\t"'),
        "environments.prod.broker_host: " + invisible("broker.litentry.org\\t", "0009", 19),
    ),
    (
        "bidi-override",
        fleet('name = "\\u202Eevil"'),
        "fleet.name: " + invisible("\\u202eevil", "202E", 0),
    ),
    (
        "control-character-in-a-key",
        GOOD + '[environments.prod.hosts."audit\\u0007"]\nskip = true\n',
        'environments.prod.hosts."audit\\u0007": the key has a control or invisible character (U+0007)',
    ),
    (
        "absurdly-long-string",
        fleet('name = "' + "x" * 5000 + '"'),
        "fleet.name: " + longer_than_any("x" * 120, 5000),
    ),
    (
        "longer-than-its-kind",
        fleet('name = "' + "x" * 100 + '"'),
        'fleet.name: "' + "x" * 100 + '" is too long (100 characters; at most 64)',
    ),
    (
        "host-name-with-an-empty-label",
        GOOD.replace('"broker.litentry.org"', '"broker..litentry.org"'),
        "environments.prod.broker_host: "
        + not_a_host_name(
            "broker..litentry.org", "it has an empty label (two dots in a row, or a dot at an end)"
        ),
    ),
    (
        "host-name-with-a-64-character-label",
        GOOD.replace('"broker.litentry.org"', '"' + "b" * 64 + '.litentry.org"'),
        "environments.prod.broker_host: "
        + not_a_host_name(
            "b" * 64 + ".litentry.org", "it has a label of 64 characters; labels have at most 63"
        ),
    ),
    (
        "host-name-past-253",
        GOOD.replace('"broker.litentry.org"', '"' + ".".join(["b" * 60] * 5) + '.litentry.org"'),
        'environments.prod.broker_host: "'
        + ".".join(["b" * 60] * 5)[:120]
        + '"… (317 characters) is too long (at most 253)',
    ),
    (
        "derived-host-name-with-a-long-label",
        GOOD.replace(
            "[environments.test-2]", '[environments.test-2]\nworkers = ["' + "w" * 60 + '"]'
        ),
        'environments.test-2.workers: "'
        + "w" * 60
        + '" makes the host name "'
        + "w" * 60
        + '-test-2.litentry.org", which has a label of 67 characters; labels have at most 63; name it in [environments.test-2.hosts.'
        + "w" * 60
        + '] hostname = "..."',
    ),
    (
        "address-host-not-a-host-name",
        env_prod('address = "..-:443"'),
        "environments.prod.address: "
        + not_an_address(
            "..-:443", "the host has an empty label (two dots in a row, or a dot at an end)"
        ),
    ),
    (
        "address-ipv4-in-brackets",
        env_prod('address = "[1.2.3.4]:443"'),
        "environments.prod.address: "
        + not_an_address("[1.2.3.4]:443", "brackets hold an IPv6 address, and only one"),
    ),
    (
        "address-not-an-ip",
        env_prod('address = "999.1.1.1"'),
        "environments.prod.address: "
        + not_an_address("999.1.1.1", "the host ends in a number but is not an IP address"),
    ),
    (
        "url-with-credentials",
        GOOD + '[chain]\nchain_id = 1\nrpc_url = "https://user:key@rpc.example.org"\n',
        'chain.rpc_url: "https://***@rpc.example.org" is not an http(s) URL; one with an API key in it belongs in the rpc_url secret or $rpc_env, not here; it holds a user name or password; credentials go in a secret',
    ),
    (
        "url-host-not-a-host-name",
        GOOD + '[aws]\nendpoint_url = "http://a_b.example"\n',
        "aws.endpoint_url: \"http://a_b.example\" is not an http(s) URL; the host has characters other than letters, digits, '-' and '.'",
    ),
    (
        "url-port-past-65535",
        GOOD
        + '[github]\nrepo = "a/b"\nworkflows = ["ci.yml"]\napi_url = "http://h.example:99999"\n',
        'github.api_url: "http://h.example:99999" is not an http(s) URL without a trailing slash; Port out of range 0-65535',
    ),
    (
        "ca-bundle-with-a-nul",
        probe('ca_bundle = "ca\\u0000.pem"'),
        "probe.ca_bundle: " + invisible("ca\\u0000.pem", "0000", 2),
    ),
    (
        "ca-bundle-path-past-any-limit",
        probe('ca_bundle = "' + "a/" * 2100 + '"'),
        "probe.ca_bundle: " + longer_than_any("a/" * 60, 4200),
    ),
    (
        "ca-bundle-file-name-too-long",
        probe('ca_bundle = "' + "a" * 300 + '"'),
        'probe.ca_bundle: "'
        + "a" * 120
        + '"… (300 characters): cannot be read (File name too long)',
    ),
    (
        "ca-bundle-missing",
        probe('ca_bundle = "nope.pem"'),
        'probe.ca_bundle: "nope.pem": no such file',
    ),
    (
        "ca-bundle-a-folder",
        probe('ca_bundle = "."'),
        'probe.ca_bundle: ".": cannot be read (Is a directory)',
    ),
    (
        "ca-bundle-not-pem",
        probe('ca_bundle = "junk.pem"'),
        'probe.ca_bundle: "junk.pem": holds no PEM certificate (-----BEGIN CERTIFICATE-----); the TLS probe trusts the CA certificates in this file',
    ),
    (
        "ca-bundle-pem-armour-around-junk",
        probe('ca_bundle = "broken.pem"'),
        'probe.ca_bundle: "broken.pem": not a PEM bundle the TLS probe can load (',
    ),
    (
        "arrays-nested-3000-deep",
        GOOD + "x = " + "[" * 3000 + "]" * 3000 + "\n",
        "line 12: x: arrays or inline tables nested too deeply (keys go at most 6 deep)",
    ),
    (
        "inline-tables-nested-1000-deep",
        GOOD + "x = " + "{a=" * 1000 + "1" + "}" * 1000 + "\n",
        "line 12: x: arrays or inline tables nested too deeply (keys go at most 6 deep)",
    ),
    (
        "dotted-keys-3000-deep",
        GOOD + "[environments.prod.hosts.audit]\n" + "a" + ".a" * 3000 + " = 1\n",
        [
            "environments.prod.hosts.audit.a.a: holds tables or arrays nested deeper than any fleet.toml (keys at most 6 deep)",
            "environments.prod.hosts.audit.a: unknown key (known here: hostname, address, optional, skip)",
        ],
    ),
    (
        "period-not-whole-minutes",
        fleet("period_s = 90"),
        "fleet.period_s: 90 is not a whole number of minutes; EventBridge Scheduler rates are whole minutes (try 60)",
    ),
    (
        "period-past-the-alarm-window",
        fleet("period_s = 36000"),
        "fleet.period_s: 36000 is too long for the staleness alarm: 3 periods must fit in CloudWatch's one-day window (at most 28800)",
    ),
    (
        "deadline-past-the-lambda-timeout",
        fleet("period_s = 3600") + "[probe]\npass_deadline_s = 897\n",
        "probe.pass_deadline_s: 897 leaves less than 7 s of the Lambda's 900 s timeout to wait for late sources and publish in (Lambda allows at most 900 s)",
    ),
    (
        "deadline-past-the-period",
        probe("pass_deadline_s = 55"),
        "probe.pass_deadline_s: 55 leaves less than 10 s of the 60 s schedule period; a pass must end before the next one starts",
    ),
    (
        "toml-cut-short",
        GOOD + "x = [1,",
        "line 12: not valid TOML (Invalid value, at the end of the file)",
    ),
    (
        "maintenance-window-ending-before-it-starts",
        window('environments = ["prod"]\nstart = "2026-12-05T04:00Z"\nend = "2026-12-05T02:00Z"'),
        'maintenance.0.end: "2026-12-05T02:00Z" is not after start "2026-12-05T04:00Z"',
    ),
    (
        "maintenance-window-in-a-time-zone-path",
        window(
            'environments = ["prod"]\nevery = "day"\nat = "03:00"\nfor_minutes = 5\n'
            'timezone = "../../etc/passwd"'
        ),
        'maintenance.0.timezone: "../../etc/passwd" is not a time zone name such as '
        '"Europe/Berlin" or "UTC"',
    ),
]


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A folder for fleet.toml with the files its ca_bundle cases name."""
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    (tmp_path / "broken.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"
    )
    return tmp_path


@pytest.mark.parametrize("command", ["validate", "collect"])
@pytest.mark.parametrize(("text", "message"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_bad_config_is_exit_2_before_anything_runs(
    command: str,
    text: str,
    message: str | list[str],
    config_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from fleetboard import cli

    path = config_dir / "fleet.toml"
    path.write_text(text)
    out = config_dir / "board"
    args = ["validate", "--config", str(path)]
    if command == "collect":
        args = ["collect", "--config", str(path), "--out", str(out)]
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    if isinstance(message, list):
        assert lines == [f"{path}: {m}" for m in message]
    elif message.endswith("("):
        [line] = lines
        assert line.startswith(f"{path}: {message}"), line
    else:
        assert lines == [f"{path}: {message}"]
    assert not out.exists()  # collect refused before it wrote, or asked, anything


def test_an_unreadable_or_oversized_file_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fleetboard import cli

    big = tmp_path / "big.toml"
    big.write_text(GOOD + "# " + "x" * (1024 * 1024) + "\n")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe[fleet]\n")
    assert cli.main(["validate", "--config", str(big)]) == 2
    assert cli.main(["validate", "--config", str(binary)]) == 2
    assert cli.main(["validate", "--config", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{big}: larger than 1024 KiB; not a fleet.toml",
        f"{binary}: not UTF-8 text (invalid start byte at byte 0)",
        f"{tmp_path}: cannot read the file (Is a directory)",
    ]


def test_a_pem_ca_bundle_beside_the_config_is_taken(tmp_path: Path) -> None:
    import trustme

    (tmp_path / "ca.pem").write_bytes(trustme.CA().cert_pem.bytes())
    path = tmp_path / "fleet.toml"
    path.write_text(probe('ca_bundle = "ca.pem"'))
    assert config.load(path).inventory.probe.ca_bundle == (tmp_path / "ca.pem").resolve()


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("^[a-z]+-\\d$", "us-1", True),
        ("^[a-z]+-\\d$", "us-1\n", False),  # Python's $ alone would match here
        ("^a[$]$", "a$", True),  # a $ in a class is a character
        ("^a\\$$", "a$", True),  # an escaped $ too
        ("^(a|b$)", "b\n", False),
    ],
)
def test_schema_patterns_anchor_at_the_very_end(pattern: str, text: str, matches: bool) -> None:
    assert bool(python_regex(pattern).search(text)) is matches


@pytest.mark.parametrize(
    "value",
    ["127.0.0.1:8443", "[::1]:8443", "[::1]", "lb.internal:444", "localhost", "54.164.117.252"],
)
def test_addresses_that_are_addresses_pass(value: str) -> None:
    config.loads(env_prod(f'address = "{value}"'))


def test_the_schedule_rules_are_the_cdk_stacks_own() -> None:
    """validate refuses exactly what infra/collector.py refuses at synth (same words)."""
    import dataclasses

    collector = pytest.importorskip("infra.collector")
    loaded = config.loads(GOOD)
    for period in (60, 90, 120, 600, 900, 905, 960, 3600, 28800, 28860, 36000, 86400):
        for deadline in (1.0, 40.0, 50.0, 51.0, 110.0, 890.0, 895.0, 896.0, 900.0):
            probe_ = dataclasses.replace(loaded.inventory.probe, pass_deadline_s=deadline)
            inventory = dataclasses.replace(loaded.inventory, probe=probe_)
            case = dataclasses.replace(loaded, period_s=period, inventory=inventory)
            ours = [f"fleet.toml: {k}: {t}" for k, t in config.schedule_problems(period, deadline)]
            theirs = collector.schedule_problems(case)
            # The period rules in the same words; the deadline refused in the same cases (up to
            # 905 s the Lambda's timeout is the period less 5 s, and ours says "the period").
            assert [m for m in ours if "period_s" in m] == [m for m in theirs if "period_s" in m]
            if period > 905:
                assert ours == theirs
            assert bool(ours) == bool(theirs), (period, deadline, ours, theirs)


def test_probe_workers_is_a_count_of_processes_and_defaults_to_one() -> None:
    assert config.loads(GOOD, source="fleet.toml").inventory.probe.workers == 1
    assert config.loads(probe("workers = 2"), source="fleet.toml").inventory.probe.workers == 2
    assert problems(probe("workers = 0")) == ["fleet.toml: probe.workers: 0 must be at least 1"]
    assert problems(probe("workers = 17")) == ["fleet.toml: probe.workers: 17 must be at most 16"]


def test_deploy_shards_counts_the_collectors_of_a_pass_and_defaults_to_one() -> None:
    def deploy(lines: str) -> str:
        return GOOD + "[deploy]\n" + lines + "\n"

    assert config.loads(GOOD, source="fleet.toml").deploy.shards == 1
    assert config.loads(deploy("shards = 4"), source="fleet.toml").deploy.shards == 4
    assert problems(deploy("shards = 0")) == ["fleet.toml: deploy.shards: 0 must be at least 1"]
    assert problems(deploy("shards = 41")) == ["fleet.toml: deploy.shards: 41 must be at most 40"]
    assert problems(deploy('shards = "4"')) == [
        'fleet.toml: deploy.shards: "4" is a string; expected an integer'
    ]
    assert problems(deploy("shards = 2.5"), name="other.toml") == [
        "other.toml: deploy.shards: 2.5 is a number; expected an integer"
    ]

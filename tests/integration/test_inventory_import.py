"""`fleetboard inventory import` / `check` on env files modelled on the real fleet's
(tests/fixtures/fleet-scripts; docs/fleet.md#env-files), evaluated by real bash; and on the
ways the fleet writes them (tests/fixtures/envfiles-spellings, issue 18): every generated
fleet.toml is compared with a checked-in one, validated, and drives a pass over the demo's
simulated fleet (one for the module: its servers start once)."""

from __future__ import annotations

import re
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetboard import collect, config, snapshot
from fleetboard.cli import main
from fleetboard.collect import PassResult
from fleetboard.demo.run import DemoFleet, demo_fleet
from fleetboard.publish import LocalPublisher

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path("tests/fixtures/fleet-scripts")  # as typed: the header names it
EXPECTED = ROOT / "tests" / "fixtures" / "fleet-scripts.expected.toml"
SPELLINGS = Path("tests/fixtures/envfiles-spellings")  # one scripts/ folder per case

#: Each case's import exit code, and the endpoints its pass must treat as optional.
CASES: dict[str, tuple[int, dict[str, set[str]]]] = {
    # Host labels, as wait-stack-healthy.sh names them; test-2 lists weixin before it runs it.
    "labels": (
        0,
        {
            "prod": {"mcp", "worker:weixin"},
            "test": {"mcp", "worker:weixin", "worker:classify"},
            "test-2": {"mcp"},
        },
    ),
    # Host names: interpolated by bash, written out, and single-quoted (${ZONE} as written).
    "hostnames": (
        0,
        {
            "prod": {"mcp", "worker:weixin"},
            "test": {"mcp", "worker:weixin", "worker:classify"},
            "test-2": {"mcp"},
        },
    ),
    # Every spelling in one value; prod requires weixin, so it is not fleet-wide optional.
    "mixed": (
        0,
        {
            "prod": {"mcp"},
            "test": {
                "mcp",
                "worker:classify",
                "worker:weixin",
                "worker:email",
                "worker:cred",
                "worker:config",
            },
            "test-2": {"mcp"},
        },
    ),
    # test lacks PARENT_ZONE_ID; test-2 lacks it, REGION and ZONE too.
    "zone-id-missing": (
        0,
        {
            "prod": {"mcp", "worker:weixin"},
            "test": {"mcp", "worker:weixin"},
            "test-2": {"mcp"},
        },
    ),
    # test-2 bash fails, test-3 has no BROKER_HOST, test-4 a refused line, test-5 no machine file.
    "broken-env": (1, {"prod": {"mcp", "worker:weixin"}, "test": {"mcp", "worker:weixin"}}),
}


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    """A copy of the fixture env files a test may change."""
    return Path(shutil.copytree(ROOT / FIXTURE, tmp_path / "scripts"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoFleet]:
    """The demo's simulated fleet (moto, HTTPS hosts, its zone), started once for the module."""
    with demo_fleet(tmp_path_factory.mktemp("demo-world")) as fleet:
        yield fleet


def demo_pass(demo: DemoFleet, scripts: Path, tmp_path: Path, code: int = 0) -> PassResult:
    """Import `scripts` with --merge into a fleet.toml holding only what an operator adds by
    hand for the simulated fleet (its AWS endpoint, its CA, where prod's hosts answer), and
    run a real collector pass with it over the demo's fleet."""
    inventory = demo.loaded.inventory
    out = tmp_path / "fleet.toml"
    prod_address = next(e for e in inventory.environments if e.name == "prod").broker.address
    out.write_text(
        f'[aws]\nendpoint_url = "{inventory.aws.endpoint_url}"\n'
        f'[probe]\nca_bundle = "{inventory.probe.ca_bundle}"\n'
        f'[environments.prod]\naddress = "{prod_address}"\n'
    )
    assert main(["inventory", "import", str(scripts), "--out", str(out), "--merge"]) == code
    loaded = config.load(out)
    ctx = collect.laptop_context(loaded, **demo.context_overrides())
    result = collect.run_pass(loaded, ctx, LocalPublisher(tmp_path / "board"))
    assert result.error is None
    assert snapshot.problems(result.document) == []
    prod = next(e for e in result.document["environments"] if e["name"] == "prod")
    broker = next(c for c in prod["checks"] if c["name"] == "broker")
    assert broker["status"] == "green"  # probed through the imported config, for real
    assert (tmp_path / "board" / "index.html").is_file()
    return result


def test_the_generated_config_equals_the_expected_one_and_validates(
    at_root: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "fleet.toml"
    assert main(["inventory", "import", str(FIXTURE), "--out", str(out)]) == 0
    assert out.read_text() == EXPECTED.read_text()
    err = capsys.readouterr().err
    assert "operator-workstation.ve.env: Volcano Engine (not AWS): skipped" in err
    assert main(["validate", "--config", str(out)]) == 0
    inventory = config.load(out).inventory
    test = next(e for e in inventory.environments if e.name == "test")
    hostnames = {h.label: h.hostname for h in test.hosts}
    # Interpolated through bash: ${ZONE}, ${BROKER_HOST#*.}, and slot 1's MCP exception.
    assert hostnames["worker:audit"] == "audit-test.litentry.org"
    assert hostnames["mcp"] == "test-mcp.litentry.org"
    assert test.chain is not None
    assert test.chain.deployer == "0x9FE9e6c208e9e75D2A19a5c2683127c33896F259"  # old key name
    # Base prod has only DEPLOYER_ADDR_BASE: its wallet is watched on Base, in ETH.
    base = next(e for e in inventory.environments if e.name == "base")
    assert base.chain is not None and base.chain.network == "base"
    settings = inventory.chain_settings("base")
    assert settings is not None and (settings.chain_id, settings.token) == (8453, "ETH")


def test_running_it_again_gives_the_same_bytes_and_a_new_slot_only_adds_lines(
    scripts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fleet.toml"
    assert main(["inventory", "import", str(scripts), "--out", str(out)]) == 0
    before = out.read_text()
    assert main(["inventory", "import", str(scripts), "--out", str(out)]) == 0
    assert out.read_text() == before
    for kind in ("operator-workstation", "broker"):
        text = (scripts / f"{kind}.test-2.env").read_text().replace("-test-2", "-test-3")
        text = text.replace("i-0a5c74cdbb3e5be84", "i-0a5c74cdbb3e5be99")
        (scripts / f"{kind}.test-3.env").write_text(text.replace("54.145.185.156", "3.3.3.3"))
    assert main(["inventory", "import", str(scripts), "--out", str(out)]) == 0
    after = out.read_text().splitlines()
    assert "[environments.test-3]" in after
    old = iter(after)
    assert all(line in old for line in before.splitlines())  # a subsequence: only additions


@pytest.mark.parametrize(
    "line",
    [
        "AUDIT_HOST=$(touch {marker})",
        "AUDIT_HOST=`touch {marker}`",
        "AUDIT_HOST='$(touch {marker})'",
        "AUDIT_HOST=x; touch {marker}",
        "AUDIT_HOST=x touch {marker}",
        "touch {marker}",
    ],
)
def test_a_line_that_could_run_something_is_refused_before_anything_runs(
    scripts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str
) -> None:
    marker = tmp_path / "ran"
    env_file = scripts / "operator-workstation.test-2.env"
    env_file.write_text(env_file.read_text() + line.format(marker=marker) + "\n")
    number = len(env_file.read_text().splitlines())
    # Another environment's bash error: with --strict, not reported, because bash never ran.
    _edit(scripts / "broker.test.env", "EIP=", "X=${NOPE?is not set}\nEIP=")
    out = tmp_path / "fleet.toml"
    assert main(["inventory", "import", str(scripts), "--out", str(out), "--strict"]) == 2
    err = capsys.readouterr().err
    assert f"test-2: {env_file}:{number}:" in err and "bash failed" not in err
    assert not marker.exists() and not out.exists()
    # Without --strict the environment is left out, and the others are imported.
    assert main(["inventory", "import", str(scripts), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"test-2 left out: {env_file}:{number}:" in err
    assert "test left out: " in err and "bash failed" in err
    assert list(tomllib.loads(out.read_text())["environments"]) == ["prod", "base"]
    assert not marker.exists()


@pytest.mark.parametrize(
    ("change", "env", "message"),
    [
        (
            lambda s: (s / "broker.test-2.env").unlink(),
            "test-2",
            "broker.test-2.env: missing: operator-workstation.test-2.env has no machine file",
        ),
        (
            lambda s: _edit(s / "operator-workstation.test-2.env", "BROKER_HOST=", "#"),
            "test-2",
            "operator-workstation.test-2.env: BROKER_HOST: missing or empty",
        ),
        (
            lambda s: _edit(s / "broker.test.env", "EIP=", "X=${NOPE?is not set}\nEIP="),
            "test",
            "broker.test.env: bash failed: ",
        ),
        (
            lambda s: _edit(
                s / "operator-workstation.env", "DEPLOYER_ADDR_HEIMA=0x", "DEPLOYER_ADDR_HEIMA=1x"
            ),
            "prod",
            "operator-workstation.env: DEPLOYER_ADDR_HEIMA: '1xdE644936D5B7d5d42032fd08bbA42Fbbfd6663Bc' is not an address",
        ),
    ],
)
def test_a_broken_environment_is_named_and_left_out_or_with_strict_nothing_is_written(
    scripts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], change, env, message
) -> None:
    out = tmp_path / "fleet.toml"
    out.write_text("# the operator's current file\n")
    change(scripts)
    assert main(["inventory", "import", str(scripts), "--out", str(out), "--strict"]) == 2
    assert message in capsys.readouterr().err
    assert out.read_text() == "# the operator's current file\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".fleet.toml")] == []
    assert main(["inventory", "import", str(scripts), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{env} left out: " in err and message in err
    written = list(tomllib.loads(out.read_text())["environments"])
    assert written == [e for e in ["prod", "base", "test", "test-2"] if e != env]
    assert main(["validate", "--config", str(out)]) == 0


def _edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new, 1))


def test_merge_keeps_hand_written_overrides_and_takes_the_env_files_values(
    scripts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "fleet.toml"
    assert main(["inventory", "import", str(scripts), "--out", str(out)]) == 0
    hand = out.read_text().replace(
        "[environments.test-2]\n", "[environments.test-2]\nretired = true\n"
    )
    hand = hand.replace('eip = "3.214.219.209"', 'eip = "3.3.3.3"')  # stale by hand
    hand += '\n[github]\nrepo = "litentry/agentKeys"\nworkflows = ["harness-ci.yml"]\n'
    out.write_text(hand)
    (scripts / "operator-workstation.test-2.env").unlink()  # the slot's files are gone
    (scripts / "broker.test-2.env").unlink()
    assert main(["inventory", "import", str(scripts), "--out", str(out), "--merge"]) == 0
    merged = tomllib.loads(out.read_text())
    assert merged["github"]["repo"] == "litentry/agentKeys"
    assert merged["environments"]["test-2"]["retired"] is True  # kept: marked by hand
    assert merged["environments"]["test"]["eip"] == "3.214.219.209"  # the env files win
    assert "test-2: no env files; kept as retired" in capsys.readouterr().err
    assert main(["validate", "--config", str(out)]) == 0


def test_check_finds_a_changed_eip_and_exits_one(
    scripts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "fleet.toml"
    assert main(["inventory", "import", str(scripts), "--out", str(out)]) == 0
    assert main(["inventory", "check", str(scripts), "--config", str(out)]) == 0
    _edit(scripts / "broker.test.env", "EIP=3.214.219.209", "EIP=3.214.219.210")
    capsys.readouterr()
    assert main(["inventory", "check", str(scripts), "--config", str(out)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "drift: test eip: the env files say 3.214.219.210 (broker.test.env EIP), "
        f"{out} says 3.214.219.209"
    ]


def test_the_generated_config_drives_a_demo_pass_end_to_end(
    at_root: None, demo: DemoFleet, tmp_path: Path
) -> None:
    result = demo_pass(demo, FIXTURE, tmp_path)
    names = [e["name"] for e in result.document["environments"]]
    assert names == ["prod", "base", "test", "test-2"]


# --------------------------------------------------------------------------- issue 18


@pytest.mark.parametrize("case", list(CASES))
def test_each_way_of_writing_the_files_gives_the_expected_config(
    at_root: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    code, _ = CASES[case]
    out = tmp_path / "fleet.toml"
    assert main(["inventory", "import", str(SPELLINGS / case), "--out", str(out)]) == code
    assert out.read_text() == (ROOT / SPELLINGS / f"{case}.expected.toml").read_text()
    capsys.readouterr()
    assert main(["validate", "--config", str(out)]) == 0
    # check reads the files the same way: no drift against its own import.
    assert main(["inventory", "check", str(SPELLINGS / case), "--config", str(out)]) == code
    assert "drift:" not in capsys.readouterr().out


@pytest.mark.parametrize("case", list(CASES))
def test_a_demo_pass_runs_on_each_generated_config(
    at_root: None, demo: DemoFleet, tmp_path: Path, case: str
) -> None:
    code, optional = CASES[case]
    result = demo_pass(demo, SPELLINGS / case, tmp_path, code)
    found = {
        e["name"]: {c["name"] for c in e["checks"] if c["kind"] == "http" and c["optional"]}
        for e in result.document["environments"]
    }
    assert found == optional


def test_an_entry_of_every_spelling_is_matched_and_the_others_are_said(
    at_root: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = SPELLINGS / "mixed"
    assert main(["inventory", "import", str(case), "--out", str(tmp_path / "fleet.toml")]) == 0
    err = capsys.readouterr().err.splitlines()
    # Matching nothing: a warning naming file, key and entry.
    assert (
        f"warning: {case / 'operator-workstation.test.env'}: AGENTKEYS_HEALTH_OPTIONAL: "
        '"nosuch" matches no service of test nor of any other environment: ignored'
    ) in err
    # A service test-2 does not run, which prod requires: dropped, in one line.
    assert (
        f'{case / "operator-workstation.test-2.env"}: AGENTKEYS_HEALTH_OPTIONAL: "weixin": '
        "test-2 does not run weixin, and prod requires it, so it is not fleet-wide optional: "
        "dropped"
    ) in err
    assert len(err) == 2


def test_spelling_is_not_drift(at_root: None, tmp_path: Path) -> None:
    out = tmp_path / "fleet.toml"
    assert main(["inventory", "import", str(SPELLINGS / "labels"), "--out", str(out)]) == 0
    # The same fleet with host names instead of labels: nothing to report.
    assert main(["inventory", "check", str(SPELLINGS / "hostnames"), "--config", str(out)]) == 0


def test_a_broken_environment_never_runs_and_strict_makes_it_fatal(
    at_root: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = SPELLINGS / "broken-env"
    out = tmp_path / "fleet.toml"
    assert main(["inventory", "import", str(case), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    for env, why in (
        ("test-2", "broker.test-2.env: line 4: DATA_ROLE_NAME: is not set"),
        ("test-3", "operator-workstation.test-3.env: BROKER_HOST: missing or empty"),
        ("test-4", "operator-workstation.test-4.env:17: AUDIT_HOST: command substitution"),
        ("test-5", "broker.test-5.env: missing: operator-workstation.test-5.env has no machine"),
    ):
        assert f"fleetboard inventory import: {env} left out: " in err and why in err
    assert not (case / "ran").exists()  # test-4's $(touch ran) was never run
    assert main(["inventory", "import", str(case), "--out", str(out), "--strict"]) == 2
    assert "--strict: a broken environment is fatal" in capsys.readouterr().err
    assert main(["inventory", "check", str(case), "--config", str(out), "--strict"]) == 2


def test_merge_keeps_a_left_out_environment_as_it_was(
    scripts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "fleet.toml"
    assert main(["inventory", "import", str(scripts), "--out", str(out)]) == 0
    before = tomllib.loads(out.read_text())["environments"]["test-2"]
    _edit(scripts / "broker.test-2.env", "EIP=", "X=${NOPE?is not set}\nEIP=")
    assert main(["inventory", "import", str(scripts), "--out", str(out), "--merge"]) == 1
    assert tomllib.loads(out.read_text())["environments"]["test-2"] == before
    assert "test-2: left out of this import: its table in the previous" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("file", "key", "value", "other"),
    [
        ("operator-workstation.test-2.env", "ZONE", "litentry.io", "operator-workstation.env"),
        ("operator-workstation.test.env", "REGION", "eu-west-1", "operator-workstation.env"),
        ("broker.test.env", "ACCOUNT_ID", "111111111111", "broker.env"),  # bash's last word
    ],
)
def test_files_that_disagree_on_a_fleet_value_are_an_error_naming_both(
    scripts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], file, key, value, other
) -> None:
    text = (scripts / file).read_text()
    (scripts / file).write_text(re.sub(rf"^{key}=.*$", f"{key}={value}", text, flags=re.M))
    out = tmp_path / "fleet.toml"
    assert main(["inventory", "import", str(scripts), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"fleetboard inventory import: {key}: the env files disagree" in err
    assert f'{scripts / file} says "{value}"' in err
    assert f"{scripts / other} and " in err  # the files that say otherwise, named too
    assert not out.exists()


def test_the_disagreeing_fixture_names_both_files_and_values(
    at_root: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = SPELLINGS / "disagree"
    assert main(["inventory", "import", str(case), "--out", str(tmp_path / "fleet.toml")]) == 2
    assert capsys.readouterr().err == (
        "fleetboard inventory import: PARENT_ZONE_ID: the env files disagree on the zone's "
        f'Route 53 id: {case / "operator-workstation.env"} says "Z09723983CFJOHAE3VC65"; '
        f'{case / "operator-workstation.test.env"} says "Z0000000000000000TEST"; '
        "the fleet has one: correct the file that is wrong\n"
    )
    assert not (tmp_path / "fleet.toml").exists()


def test_a_fleet_value_no_file_gives_or_no_readable_environment_is_bad_input(
    scripts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "fleet.toml"
    for path in scripts.glob("operator-workstation*.env"):
        _edit(path, "PARENT_ZONE_ID=", "#")
    assert main(["inventory", "import", str(scripts), "--out", str(out)]) == 2
    assert "PARENT_ZONE_ID: set in none of the env files" in capsys.readouterr().err
    for path in scripts.glob("broker*.env"):
        path.unlink()
    assert main(["inventory", "import", str(scripts), "--out", str(out)]) == 2
    assert "no environment's env files could be read" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("action", "line"),
    [
        ("import", "1  fleet.toml written, but environments whose env files are broken"),
        ("check", "1  drift found (listed on stdout), or environments whose env files"),
    ],
)
def test_the_exit_codes_are_in_the_help(
    capsys: pytest.CaptureFixture[str], action: str, line: str
) -> None:
    with pytest.raises(SystemExit):
        main(["inventory", action, "--help"])
    help_text = capsys.readouterr().out
    assert line in help_text and "--strict" in help_text

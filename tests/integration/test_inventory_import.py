"""`fleetboard inventory import` / `check` on env files modelled on the real fleet's
(tests/fixtures/fleet-scripts; docs/fleet.md#env-files), evaluated by real bash."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from fleetboard import collect, config, snapshot
from fleetboard.cli import main
from fleetboard.demo.run import demo_fleet
from fleetboard.publish import LocalPublisher

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path("tests/fixtures/fleet-scripts")  # as typed: the header names it
EXPECTED = ROOT / "tests" / "fixtures" / "fleet-scripts.expected.toml"


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    """A copy of the fixture env files a test may change."""
    return Path(shutil.copytree(ROOT / FIXTURE, tmp_path / "scripts"))


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
    out = tmp_path / "fleet.toml"
    assert main(["inventory", "import", str(scripts), "--out", str(out)]) == 2
    number = len(env_file.read_text().splitlines())
    assert f"{env_file}:{number}:" in capsys.readouterr().err
    assert not marker.exists() and not out.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda s: (s / "broker.test-2.env").unlink(),
            "broker.test-2.env: missing: operator-workstation.test-2.env has no machine file",
        ),
        (
            lambda s: _edit(s / "operator-workstation.test-2.env", "BROKER_HOST=", "#"),
            "operator-workstation.test-2.env: BROKER_HOST: missing or empty",
        ),
        (
            lambda s: _edit(s / "broker.test.env", "EIP=", "X=${NOPE?is not set}\nEIP="),
            "broker.test.env: bash failed: ",
        ),
        (
            lambda s: _edit(
                s / "operator-workstation.env", "DEPLOYER_ADDR_HEIMA=0x", "DEPLOYER_ADDR_HEIMA=1x"
            ),
            "operator-workstation.env: DEPLOYER_ADDR_HEIMA: '1xdE644936D5B7d5d42032fd08bbA42Fbbfd6663Bc' is not an address",
        ),
    ],
)
def test_bad_env_files_are_named_and_nothing_is_half_written(
    scripts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], change, message: str
) -> None:
    out = tmp_path / "fleet.toml"
    out.write_text("# the operator's current file\n")
    change(scripts)
    assert main(["inventory", "import", str(scripts), "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert out.read_text() == "# the operator's current file\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".fleet.toml")] == []


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


def test_the_generated_config_drives_a_demo_pass_end_to_end(at_root: None, tmp_path: Path) -> None:
    (tmp_path / "demo-world").mkdir()
    with demo_fleet(tmp_path / "demo-world") as fleet:
        demo = fleet.loaded.inventory
        out = tmp_path / "fleet.toml"
        # What an operator adds by hand for the simulated fleet: kept by --merge.
        prod_address = next(e for e in demo.environments if e.name == "prod").broker.address
        out.write_text(
            f'[aws]\nendpoint_url = "{demo.aws.endpoint_url}"\n'
            f'[probe]\nca_bundle = "{demo.probe.ca_bundle}"\n'
            f'[environments.prod]\naddress = "{prod_address}"\n'
        )
        assert main(["inventory", "import", str(FIXTURE), "--out", str(out), "--merge"]) == 0
        loaded = config.load(out)
        ctx = collect.laptop_context(loaded, **fleet.context_overrides())
        result = collect.run_pass(loaded, ctx, LocalPublisher(tmp_path / "board"))
    assert result.error is None
    assert snapshot.problems(result.document) == []
    prod = next(e for e in result.document["environments"] if e["name"] == "prod")
    broker = next(c for c in prod["checks"] if c["name"] == "broker")
    assert broker["status"] == "green"  # probed through the imported config, for real
    names = [e["name"] for e in result.document["environments"]]
    assert names == ["prod", "base", "test", "test-2"]
    assert (tmp_path / "board" / "index.html").is_file()

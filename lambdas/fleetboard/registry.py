"""The one list of sources: what each returns, what it reads, and where it shows.

Everything that treats sources alike finds them here and nowhere else: `collect` builds
the sources the inventory configures and sorts their answers into `rules.Observations` by
the facts type declared here; the failure list, the footer (`collector.sources`) and the
metrics (`SourceFailures` by source) go over whatever ran. A source's own class declares its
name, what it `needs` and `wants`, and `collect`; its entry here declares the rest.

A kind with a part of its own on the board (the machine, CI, the chain) has rules and
templates written for it, listed in `snapshot` and `page`. A new kind need not: give it a
`checks` rule (facts -> one environment's checks, pure, in `rules/`) and its checks join
each running environment's card, counts, issues and snapshot like any other; when it
fails, each environment shows one unknown check with the reason. The recipe, with every
file it touches, is in docs/design.md#adding-a-source.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from fleetboard.inventory import Inventory
from fleetboard.model import (
    AgentFacts,
    AwsFacts,
    BillingFacts,
    ChainFacts,
    GithubFacts,
    HostFacts,
    HttpFacts,
    LogFacts,
    MetricsFacts,
    PriceFacts,
    SourceFailure,
    TlsFacts,
)
from fleetboard.rules import SourceRule
from fleetboard.rules.host import agent_checks, host_checks, metrics_checks
from fleetboard.sources import Source


@dataclass(frozen=True, slots=True)
class SourceKind:
    """One kind of source, declared once."""

    name: str  # its answers are keyed by it, or by "<name>:<instance>" (chain networks)
    facts: type  # what its collect returns when it answers (else a SourceFailure)
    #: Its sources for this inventory, imported only when built (a pass pays for what it
    #: runs): none when the inventory does not configure it.
    build: Callable[[Inventory], Sequence[Source]]
    #: Where its facts show in latest.json ("/"-separated keys, "*" for every item) and on
    #: the page (templates under site/templates): checked against the schema and the files.
    snapshot: tuple[str, ...] = ("environments/*/checks",)
    page: tuple[str, ...] = ("_environments.html.j2",)
    #: For a kind without rules of its own in rules.evaluate: its facts -> checks.
    checks: SourceRule | None = None
    #: Work to do once per process before the first pass (web3's import: seconds of CPU).
    warm_up: Callable[[], None] | None = None
    #: Its facts are information, not health (billing's month so far, the logs' error
    #: lines): even its failure (the deadline, a bug) makes no issue and colours nothing;
    #: its part says it.
    information: bool = False

    def owns(self, key: str) -> bool:
        """Whether an answer's key ("chain", "chain:base") is one of this kind's sources."""
        return key == self.name or key.startswith(f"{self.name}:")


def _aws(inventory: Inventory) -> Sequence[Source]:
    from fleetboard.sources.aws import AwsSource

    return (AwsSource(),)


def _http(inventory: Inventory) -> Sequence[Source]:
    from fleetboard.sources.http import HttpSource

    return (HttpSource(),)


def _tls(inventory: Inventory) -> Sequence[Source]:
    from fleetboard.sources.tls import TlsSource

    return (TlsSource(),)


def _host(inventory: Inventory) -> Sequence[Source]:
    from fleetboard.sources.awsapi import ListingSource
    from fleetboard.sources.host import LISTING

    return (ListingSource("host", LISTING),)


def _agent(inventory: Inventory) -> Sequence[Source]:
    from fleetboard.sources.agent import LISTING
    from fleetboard.sources.awsapi import ListingSource

    return (ListingSource("agent", LISTING),)


def _metrics(inventory: Inventory) -> Sequence[Source]:
    from fleetboard.sources.metrics import MetricsSource

    return (MetricsSource(),)


def _prices(inventory: Inventory) -> Sequence[Source]:
    from fleetboard.sources.prices import PricesSource

    return (PricesSource(),)


def _billing(inventory: Inventory) -> Sequence[Source]:
    if not inventory.aws.cost_explorer:  # off by default: every request is billed
        return ()
    from fleetboard.sources.billing import BillingSource

    return (BillingSource(),)


def _logs(inventory: Inventory) -> Sequence[Source]:
    if inventory.logs is None:  # off by default: no [logs], nothing read
        return ()
    from fleetboard.sources.logs import LogsSource

    return (LogsSource(),)


def _github(inventory: Inventory) -> Sequence[Source]:
    if inventory.github is None:  # not configured: no CI part, and no issue about it
        return ()
    from fleetboard.sources.github import GithubSource

    return (GithubSource(),)


def _chain(inventory: Inventory) -> Sequence[Source]:
    if inventory.chain is None:
        return ()
    from fleetboard.sources.chain import ChainSource

    used = {e.chain.network for e in inventory.environments if e.chain and not e.retired}
    networks = [n for n in sorted(inventory.chain_networks) if n in used]
    return (ChainSource(), *(ChainSource(network=n) for n in networks))


def _chain_warm_up() -> None:
    from fleetboard.sources.chain import warm_up

    warm_up()


#: The page's parts (site/templates) and the snapshot's most shared key.
CARDS, TABLES, SUMMARY, FOOTER = (
    "_environments.html.j2",
    "_tables.html.j2",
    "_summary.html.j2",
    "_footer.html.j2",
)
CHECKS = "environments/*/checks"
AWS_REQUESTS = "collector/aws_requests"

#: Every kind, in the order their sources start (a source comes after those it needs).
KINDS: tuple[SourceKind, ...] = (
    SourceKind(
        "aws",
        AwsFacts,
        _aws,
        (
            CHECKS,
            "environments/*/lifecycle",
            "environments/*/machine",
            "environments/*/drift",
            "environments/*/deploy",
            "drift",
            AWS_REQUESTS,
        ),
        (CARDS, TABLES, FOOTER),
    ),
    SourceKind(
        "http",
        HttpFacts,
        _http,
        (CHECKS, "environments/*/drift", "collector/probes"),
        (CARDS, TABLES, FOOTER),
    ),
    SourceKind("tls", TlsFacts, _tls, (CHECKS,), (CARDS, TABLES)),
    SourceKind("host", HostFacts, _host, (CHECKS, AWS_REQUESTS), checks=host_checks),
    SourceKind("agent", AgentFacts, _agent, (CHECKS, AWS_REQUESTS), checks=agent_checks),
    SourceKind(
        "metrics",
        MetricsFacts,
        _metrics,
        (CHECKS, AWS_REQUESTS, "environments/*/metrics"),
        checks=metrics_checks,
    ),
    # Its part of its own: each card's cost line and an idle slot's issue (rules/cost.py).
    SourceKind("prices", PriceFacts, _prices, (AWS_REQUESTS, "environments/*/cost"), (CARDS,)),
    # Its part of its own, off unless [aws] cost_explorer: each card's month so far, on its
    # cost line (rules/billing.py); information, so it makes no check.
    SourceKind(
        "billing",
        BillingFacts,
        _billing,
        (AWS_REQUESTS, "environments/*/month_cost"),
        (CARDS,),
        information=True,
    ),
    # Its part of its own, off without [logs]: each card's last error lines per service
    # (rules/logs.py); information, so it makes no check.
    SourceKind(
        "logs",
        LogFacts,
        _logs,
        (AWS_REQUESTS, "environments/*/logs"),
        (CARDS,),
        information=True,
    ),
    SourceKind(
        "github",
        GithubFacts,
        _github,
        ("ci", "environments/*/ci", "environments/*/deploy"),
        (SUMMARY, TABLES, CARDS),
    ),
    SourceKind(
        "chain",
        ChainFacts,
        _chain,
        ("chain", "chain_networks", "environments/*/chain"),
        (SUMMARY, CARDS),
        warm_up=_chain_warm_up,
    ),
)


def registered(kinds: Sequence[SourceKind] | None = None) -> Sequence[SourceKind]:
    """`kinds`, or the registered ones: KINDS as it is now, read at each call."""
    return KINDS if kinds is None else kinds


def sources_for(
    inventory: Inventory, kinds: Sequence[SourceKind] | None = None
) -> tuple[Source, ...]:
    """The sources a pass runs for this inventory, in the kinds' order."""
    return tuple(source for kind in registered(kinds) for source in kind.build(inventory))


def warm_up(inventory: Inventory, kinds: Sequence[SourceKind] | None = None) -> None:
    """Once per process: the slow imports of the kinds this inventory runs."""
    for kind in registered(kinds):
        if kind.warm_up is not None and kind.build(inventory):
            kind.warm_up()


def sort_answers(
    results: Mapping[str, object], kinds: Sequence[SourceKind] | None = None
) -> tuple[dict[str, object], dict[str, SourceRule]]:
    """Each source's answer kept under its key when it is its kind's facts or a failure;
    anything else (a bug) is dropped. Also the checks rules of the kinds that answered."""
    kept: dict[str, object] = {}
    rules: dict[str, SourceRule] = {}
    for key, answer in results.items():
        kind = next((k for k in registered(kinds) if k.owns(key)), None)
        if isinstance(answer, SourceFailure):
            # A source nobody registered still fails visibly.
            kept[key] = replace(answer, information=True) if kind and kind.information else answer
        elif kind is not None and isinstance(answer, kind.facts):
            kept[key] = answer
        if kind is not None and kind.checks is not None:
            rules[key] = kind.checks
    return kept, rules

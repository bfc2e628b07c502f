"""`build()`: the whole fleet.toml document, put together from the other modules' parts:
[fleet], [chain] and one environments.<name> table per stack read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fleetboard.importer.document import Document
from fleetboard.importer.fleet_values import fleet_values
from fleetboard.importer.optional import (
    OPTIONAL_KEY,
    fleet_optional,
    note_dropped,
    read_optional,
)
from fleetboard.importer.read import read
from fleetboard.importer.stacks import CHAINS, Stack, read_stacks


def build(scripts: Path, *, chain: str = "heima", strict: bool = False) -> Document:
    """A complete fleet.toml for every environment whose env files are in `scripts`.

    An environment whose files are broken is left out (`Document.left_out`), or with
    `strict` ends the build. Raises EnvFileError when nothing can be imported, or when the
    files disagree on a fleet-level value (which one is right cannot be told).
    """
    doc = Document()
    envs = read(scripts, doc, strict)
    fleet: dict[str, Any] = fleet_values(envs, doc)
    stacks = read_stacks(envs, fleet["zone"], chain, doc, strict)
    first = stacks[0]
    fleet["services"] = first.services
    fleet["workers"] = first.workers
    entries = {s.name: read_optional(s, fleet["zone"], stacks, doc) for s in stacks}
    fleet["optional"] = fleet_optional(stacks, entries)
    note_dropped(stacks, entries, fleet["optional"], doc)
    doc.comments[("fleet", "services")] = "SIGNER_HOST, MCP_HOST"
    doc.comments[("fleet", "workers")] = "WORKER_*_HOST"
    doc.comments[("fleet", "optional")] = OPTIONAL_KEY
    doc.data["fleet"] = fleet
    _chain(stacks, chain, doc)
    doc.data["environments"] = {
        s.name: _environment(s, fleet, entries[s.name].here, doc) for s in stacks
    }
    return doc


def _chain(stacks: Sequence[Stack], chain: str, doc: Document) -> None:
    """[chain] when any environment has a wallet, and a [chain.networks] entry for each
    other chain some environment's wallets live on."""
    identities = [s.identity for s in stacks]
    if not any(identities):
        return
    doc.data["chain"] = {"name": chain, **CHAINS[chain]}
    doc.comments[("chain", "rpc_url")] = (
        "public and keyless; a keyed URL goes in the rpc-url secret or $FLEETBOARD_RPC_URL"
    )
    others = sorted({i["network"] for i in identities if "network" in i})
    if others:
        doc.data["chain"]["networks"] = {n: {**CHAINS[n]} for n in others}


def _environment(
    stack: Stack, fleet: Mapping[str, Any], optional: Sequence[str], doc: Document
) -> dict[str, Any]:
    """environments.<name>: what the stack read, and the lists where they differ from
    [fleet]'s."""
    table = dict(stack.table)
    if stack.workers != fleet["workers"]:
        table["workers"] = stack.workers
    if stack.services != fleet["services"]:
        table["services"] = stack.services
    own = [s for s in optional if s not in fleet["optional"]]
    if own:
        table["optional"] = own
        doc.comments[("environments", stack.name, "optional")] = stack.env.where(OPTIONAL_KEY)
    if stack.identity:
        table["chain"] = stack.identity
    doc.comments.update(stack.comments)
    doc.hostnames[stack.name] = stack.hostnames
    return table

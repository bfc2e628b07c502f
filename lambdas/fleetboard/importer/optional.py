"""AGENTKEYS_HEALTH_OPTIONAL, matched to services: fleet.optional and each environment's own.

The fleet writes the endpoints a health wait may skip as it names them: by service
(`mcp`), by host label (`classify-test`, as wait-stack-healthy.sh does), by host name
(`classify-test.${ZONE}`), separated by commas, spaces or both, quoted or not; and it
lists services an environment does not run yet (`weixin` before it is deployed there).
fleet.toml takes service names only, so each entry is matched to one here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fleetboard.config.messages import show
from fleetboard.importer.document import Document
from fleetboard.importer.hostnames import dns_name
from fleetboard.importer.stacks import Stack
from fleetboard.inventory import service_host

#: The key listing the endpoints a health wait may skip (docs/fleet.md#health).
OPTIONAL_KEY = "AGENTKEYS_HEALTH_OPTIONAL"


@dataclass(frozen=True, slots=True)
class Entries:
    """One environment's AGENTKEYS_HEALTH_OPTIONAL, matched to services."""

    here: list[str]  # its own services the entries name, in their order
    absent: dict[str, str]  # a service only other environments run -> the entry naming it


def optional_entries(raw: str, values: Mapping[str, str]) -> list[tuple[str, str]]:
    """Each entry of the value as written, and as compared: unquoted, `${VAR}` filled in
    from the same files (a single-quoted value reaches here unexpanded), lower case, no
    trailing dot."""
    entries: list[tuple[str, str]] = []
    for word in re.split(r"[,\s]+", raw):
        written = word.strip("'\"")
        if not written:
            continue
        filled = _VARIABLE.sub(lambda m: values.get(m.group(1) or m.group(2), m.group(0)), written)
        entries.append((written, dns_name(filled)))
    return entries


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def read_optional(stack: Stack, zone: str, stacks: Sequence[Stack], doc: Document) -> Entries:
    raw = stack.env.get(OPTIONAL_KEY)
    if raw is None:
        return Entries([], {})
    aliases = _aliases(stack, zone)
    elsewhere = {s for other in stacks for s in other.runs()}
    here: list[str] = []
    absent: dict[str, str] = {}
    for written, entry in optional_entries(raw, stack.env.values):
        service = aliases.get(entry)
        if service is not None:
            if service not in here:
                here.append(service)
            continue
        named = _service_named(entry, stack.suffix, zone)
        if named in elsewhere:
            absent.setdefault(named, written)
            continue
        doc.notes.append(
            f"warning: {stack.env.file_of(OPTIONAL_KEY)}: {OPTIONAL_KEY}: {show(written)} "
            f"matches no service of {stack.name} nor of any other environment: ignored"
        )
    return Entries(here, absent)


def _aliases(stack: Stack, zone: str) -> dict[str, str]:
    """Every spelling of this environment's services -> the service: its name (and
    `worker:<name>`), its host name and host label, and the rule's, where they differ
    (slot 1's `test-mcp` and `mcp-test` both name its mcp)."""
    hostnames = {"broker": stack.table["broker_host"], **stack.hostnames}
    aliases = {s: s for s in hostnames}  # names first: a name never loses to a label
    for service, hostname in hostnames.items():
        rule = service_host(service, stack.suffix, zone) if service != "broker" else hostname
        spellings = [hostname, _label(hostname), rule, _label(rule)]
        if service in stack.workers:
            spellings.append(f"worker:{service}")
        for spelling in spellings:
            aliases.setdefault(spelling, service)
    return aliases


def _label(hostname: str) -> str:
    return hostname.split(".", 1)[0]


def _service_named(entry: str, suffix: str, zone: str) -> str:
    """The service an entry names in this environment's spelling, whether or not this
    environment runs it: `weixin-test-2.litentry.org` in test-2 -> `weixin`."""
    name = entry.removeprefix("worker:").removesuffix(f".{zone}")
    if suffix and name.endswith(suffix):
        return name.removesuffix(suffix)
    if suffix and name.startswith(f"{suffix[1:]}-"):  # the prefix style: slot 1's test-mcp
        return name.removeprefix(f"{suffix[1:]}-")
    return name


def fleet_optional(stacks: Sequence[Stack], entries: Mapping[str, Entries]) -> list[str]:
    """fleet.optional: the services optional in every environment that runs them. config
    applies fleet.optional to every environment, so a service one environment requires is
    not put there; the environments that list it get their own `optional`."""
    listed = dict.fromkeys(s for e in entries.values() for s in e.here)
    return [
        service
        for service in listed
        if all(service in entries[s.name].here for s in stacks if service in s.runs())
    ]


def note_dropped(
    stacks: Sequence[Stack],
    entries: Mapping[str, Entries],
    fleet_optional: Sequence[str],
    doc: Document,
) -> None:
    """An entry naming a service its environment does not run is the fleet's "may be
    absent": kept when fleet.optional holds the service, else dropped, said in one line.
    Dropping it changes nothing: there is no such host in that environment to mark."""
    for stack in stacks:
        for service, written in entries[stack.name].absent.items():
            if service in fleet_optional:
                continue
            required = next(s.name for s in stacks if service in s.runs())
            doc.notes.append(
                f"{stack.env.file_of(OPTIONAL_KEY)}: {OPTIONAL_KEY}: {show(written)}: "
                f"{stack.name} does not run {service}, and {required} requires it, so it "
                "is not fleet-wide optional: dropped"
            )

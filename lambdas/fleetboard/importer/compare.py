"""The imported document beside an existing fleet.toml: `merge()` keeps what an operator
wrote there by hand; `drift()` lists where it and the env files disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetboard.envfiles import env_order
from fleetboard.importer.document import Document
from fleetboard.importer.hostnames import dns_name
from fleetboard.inventory import Inventory
from fleetboard.tomlout import Path_


def merge(generated: Document, previous: Mapping[str, Any]) -> Document:
    """The generated document, plus every key of `previous` it does not set (hand-written
    overrides: `retired`, `optional`, [github], [probe], an `address`…). Generated values win
    where both set a key: the env files are the source of truth. An environment missing from
    the env files is kept only when marked `retired` by hand; one left out of this import
    (its files are broken) keeps its previous table, so a typo does not drop it off the
    board."""
    data = _merge_tables(generated.data, previous, generated.comments, ())
    envs = data.get("environments", {})
    for name in list(envs):
        if name in generated.data["environments"]:
            continue
        if name in generated.left_out:
            generated.notes.append(
                f"{name}: left out of this import: its table in the previous fleet.toml is "
                "kept as it was"
            )
        elif envs[name].get("retired") is True:
            generated.notes.append(f"{name}: no env files; kept as retired (hand-written)")
        else:
            del envs[name]
            generated.notes.append(
                f"{name}: in the previous fleet.toml but has no env files: dropped "
                "(mark it retired = true to keep it on the board)"
            )
    data["environments"] = dict(sorted(envs.items(), key=lambda kv: env_order(kv[0])))
    return Document(
        data, generated.comments, generated.notes, generated.hostnames, generated.left_out
    )


def _merge_tables(
    new: Mapping[str, Any], old: Mapping[str, Any], comments: dict[Path_, str], at: Path_
) -> dict[str, Any]:
    out = dict(new)
    for key, value in old.items():
        if key not in out:
            out[key] = value
            comments.setdefault((*at, key), "kept from the previous fleet.toml")
        elif isinstance(out[key], dict) and isinstance(value, dict):
            out[key] = _merge_tables(out[key], value, comments, (*at, key))
    return out


def drift(generated: Document, inventory: Inventory) -> list[str]:
    """Where fleet.toml and the env files disagree, one sentence each. Host names compare
    as DNS does (case-blind); an environment left out of `generated` (broken env files) is
    not compared: build() reported it."""
    found: list[str] = []
    files = generated.data["environments"]
    declared = {e.name: e for e in inventory.environments}
    for name, table in files.items():
        env = declared.get(name)
        if env is None:
            found.append(f"{name}: in the env files but not in {inventory.source}")
            continue
        if env.retired:
            continue
        at = ("environments", name)

        def differs(key: str, want: object, have: object, path: Path_, name: str = name) -> None:
            if want != have:
                where = generated.comments.get(path, "the env files")
                found.append(
                    f"{name} {key}: the env files say {want} ({where}), "
                    f"{inventory.source} says {'nothing' if have is None else have}"
                )

        broker = dns_name(env.broker_host)
        differs("broker_host", table["broker_host"], broker, (*at, "broker_host"))
        differs("instance_id", table["instance_id"], env.instance_id, (*at, "instance_id"))
        differs("eip", table["eip"], env.eip, (*at, "eip"))
        names = {h.label.removeprefix("worker:"): dns_name(h.hostname) for h in env.hosts}
        for service, hostname in generated.hostnames.get(name, {}).items():
            differs(
                f"{service} host",
                hostname,
                names.get(service, "nothing"),
                (*at, "hosts", service, "hostname"),
            )
        chain = table.get("chain", {})
        have = env.chain
        for field_, value in chain.items():
            current = getattr(have, field_, None) if have is not None else None
            differs(
                f"chain {field_}",
                value.lower(),
                current.lower() if current else "nothing",
                (*at, "chain", field_),
            )
    for name, env in declared.items():
        if name not in files and name not in generated.left_out and not env.retired:
            found.append(f"{name}: in {inventory.source} but has no env files (retired?)")
    return found

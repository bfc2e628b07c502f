"""`fleetboard inventory import` and `inventory check`: the fleet's env files as the source of
truth for fleet.toml.

`build()` turns every environment's evaluated env files into a fleet.toml document (plain
dicts, in a stable order, with a comment naming the file and key each value came from);
`merge()` keeps what an operator wrote by hand in a previous fleet.toml; `drift()` lists
where a fleet.toml and the env files disagree. Writing is tomlout.py's job.

The files are read as the fleet writes them (issue 18): a fleet-level value may be missing
from some files, AGENTKEYS_HEALTH_OPTIONAL names endpoints in several spellings, and one
environment's broken files leave that environment out, not the fleet (`Document.left_out`).

Read it in the order an import runs:

- read.py: every environment's env files, checked and evaluated; the broken ones left out;
- fleet_values.py: [fleet] zone, zone_id and region, from whichever files give them;
- stacks.py: each environment's broker, machine, host names and wallets (a stack);
- optional.py: AGENTKEYS_HEALTH_OPTIONAL matched to services, fleet-wide or per environment;
- build.py: the document put together from the above;
- compare.py: `merge()` and `drift()` against an existing fleet.toml;
- document.py: the Document every step fills in; hostnames.py: host names compared as DNS
  does.
"""

from __future__ import annotations

from fleetboard.importer.build import build
from fleetboard.importer.compare import drift, merge
from fleetboard.importer.document import Document
from fleetboard.importer.optional import OPTIONAL_KEY, optional_entries
from fleetboard.importer.stacks import CHAINS, KNOWN_WORKERS, SERVICE_KEYS

__all__ = [
    "CHAINS",
    "KNOWN_WORKERS",
    "OPTIONAL_KEY",
    "SERVICE_KEYS",
    "Document",
    "build",
    "drift",
    "merge",
    "optional_entries",
]

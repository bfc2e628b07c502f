"""The chain on the page: explorer links, nonces, the operator master line."""

from __future__ import annotations

import re

from fleetboard.render.formats import JsonDoc

#: The other kind of external URL the page carries: an address on the chain explorer, as
#: the rules build it (`<explorer_url>/address/<address>`), a plain link the operator clicks.
EXPLORER_URL = re.compile(
    r"https://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~-]+)*"
    r"/address/(0x[0-9a-fA-F]{40})"
)


def explorer_url(wallet: JsonDoc) -> str | None:
    """The wallet's page on the explorer when its URL is exactly one (and of this address),
    else None: the page shows the address as plain text rather than link anything else."""
    url: str | None = wallet["url"]
    found = EXPLORER_URL.fullmatch(url) if url else None
    return url if found and found.group(1).lower() == str(wallet["address"]).lower() else None


def nonce_moved(wallet: JsonDoc) -> str:
    """Whether the nonce moved since the previous snapshot: `moved`, `unchanged`, or `—`
    (no previous snapshot, or no nonce, to compare)."""
    moved: bool | None = wallet["nonce_moved"]
    return "—" if moved is None else "moved" if moved else "unchanged"


def master_word(chain: JsonDoc) -> str:
    """The pill of the operator master line: green (registered), amber (not registered),
    unknown (not read), or `` when there is nothing to read (no registry or deployer)."""
    if chain["registry"] is None or chain["omni"] is None:
        return ""
    registered: bool | None = chain["master_registered"]
    return "unknown" if registered is None else "green" if registered else "amber"

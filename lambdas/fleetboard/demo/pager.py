"""The demo's alerts: where the demo fleet's messages go, and one printed line for each.

The demo fleet's fleet.toml has an `[alerts]` section with one `webhook` channel (the
generic JSON, schema/alert.schema.json), sent to a receiver on 127.0.0.1 (receiver.py)
that prints every message it gets on the demo's terminal:

    alert → firing prod red: prod is red: worker:email email.litentry.org HTTP 502 in 1 ms

The channel's URL is a secret like any webhook's: its path is random, and the demo's passes
get it in their context, under the channel's name among the pass's secrets, as Lambda's
passes get a webhook secret. So the `url_env` variable fleet.toml names (it must name one)
is never set, and nothing of the demo is left in the caller's environment. The receiver's
CA joins the demo's CA bundle (`[probe] ca_bundle`), which a delivery trusts as the probes
do. The thresholds are the defaults: the live incident lasts long enough to hold them
(incident.py).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from secrets import token_urlsafe

from fleetboard.alerts.message import bounded
from fleetboard.collect import ALERT_SECRET_PREFIX
from fleetboard.demo import procs
from fleetboard.demo.receiver import Received, Receiver
from fleetboard.secrets import Secret

#: The demo's one channel, as fleet.toml, the page's footer and the log name it.
CHANNEL = "demo-webhook"
#: What fleet.toml says holds the URL on a laptop: never set by the demo (see above).
URL_ENV = "FLEETBOARD_DEMO_WEBHOOK_URL"
#: How each printed line starts, so a message stands out among the pass's lines.
ARROW = "alert →"
#: A printed line's longest title: the board has the rest.
TITLE_CHARS = 110
_WORD_CHARS = 40


@dataclass(frozen=True, slots=True)
class Pager:
    """The running receiver and the channel's secret path on it."""

    receiver: Receiver
    path: str  # the webhook's secret part: never printed

    @property
    def url(self) -> Secret:
        return Secret(self.receiver.url(self.path))

    def context_secrets(self) -> dict[str, Secret]:
        """What a pass's context carries for the channel (collect.alert_wires reads it)."""
        return {ALERT_SECRET_PREFIX + CHANNEL: self.url}

    def ca_pem(self) -> bytes:
        """The receiver's CA: what a delivery must trust, besides the hosts' CA."""
        return self.receiver.ca_bundle.read_bytes()

    def toml(self, board_url: str | None) -> str:
        """fleet.toml's [alerts] section; `board_url`: where the demo serves its board (the
        messages' links), None when it is not served (--once)."""
        lines = ["", "[alerts]", "# Every threshold at its default (the README's Alerts section)."]
        if board_url is not None:
            lines.append(f'board_url = "{board_url}"')
        lines += [
            "",
            "[[alerts.channels]]",
            f'name = "{CHANNEL}"',
            'kind = "webhook"',
            f'url_env = "{URL_ENV}"  # the demo gives its passes the URL directly',
            "",
        ]
        return "\n".join(lines)

    def where(self) -> str:
        """The demo's first lines say where messages go (the address, never the path)."""
        return (
            f"demo alerts: every message goes to a webhook receiver at "
            f"https://127.0.0.1:{self.receiver.port} and is printed here as "
            f"'{ARROW} kind environment status: title'"
        )


@contextlib.contextmanager
def start(say: Callable[[str], None]) -> Iterator[Pager]:
    """The receiver, started; each message it gets is `say`'d as one line (on the
    receiver's connection thread, before it answers: so within the pass that sent it).
    Stopped, with its threads and temp folder, however the block ends."""
    procs.phase("receiver")
    path = f"/hooks/{token_urlsafe(24)}"
    with Receiver(on_post=lambda got: say(line(got))) as receiver:
        yield Pager(receiver, path)


def line(got: Received) -> str:
    """One short line for one message: kind, environment, status, title. The body is
    untrusted text: each field is made one line of printable characters and bounded."""
    try:
        doc = json.loads(got.body)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        return f"{ARROW} (not the generic JSON: {len(got.body)} bytes)"
    kind, env, status, title = (
        doc.get(key) if isinstance(doc.get(key), str) else "?"
        for key in ("kind", "env", "status", "title")
    )
    return (
        f"{ARROW} {bounded(kind, _WORD_CHARS)} {bounded(env, _WORD_CHARS)} "
        f"{bounded(status, _WORD_CHARS)}: {bounded(title, TITLE_CHARS)}"
    )

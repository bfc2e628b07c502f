"""Snapshot document -> the Atom feed (RFC 4287) of the board's recent changes: feed.xml.

Like the page (render/), the feed is a view of a validated snapshot and of nothing else:
one entry per line of its `recent` (the last 24 hours, newest first; a flapping check's
changes are one entry there, as on the page, and every one of them is in the events log).
An entry's id is a urn:uuid derived from the fleet, the environment, the check and the
time, so the same change keeps its id from pass to pass and a feed reader lists it once.
The tree is built with xml.etree, which escapes every text and attribute value; the few
characters XML 1.0 cannot carry at all are replaced, never passed through.

    from fleetboard import feed
    xml = feed.render_feed(doc)   # bytes, UTF-8, published as FEED beside index.html
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fleetboard.publish import FEED, INDEX

JsonDoc = Mapping[str, Any]

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml"
#: Every id of this feed is a name-based UUID in this namespace: the same names, the same id,
#: on any machine and in any pass.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://fleetboard.invalid/feed")
AUTHOR = "fleetboard"
#: What XML 1.0 cannot hold even escaped (most control characters, lone surrogates, U+FFFE
#: and U+FFFF); a reason quoting a broken body must not make the whole feed unreadable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def title(doc: JsonDoc) -> str:
    """The feed's title, also on the page's link to it."""
    return f"{doc['fleet']['name']} fleet: recent changes"


def feed_id(doc: JsonDoc) -> str:
    fleet = doc["fleet"]
    return _urn("feed", fleet["name"], fleet["zone"])


def entry_id(doc: JsonDoc, change: JsonDoc) -> str:
    """The same for a change in every pass that lists it (what a feed reader keys on). A
    flapping check's folded line keeps the id of its newest change."""
    return _urn("change", doc["fleet"]["name"], change["env"], change["check"] or "", change["at"])


def entry_title(change: JsonDoc) -> str:
    """`test-2 green -> red`, `test-2 worker:audit green -> red (5 changes, flapping)`."""
    what = change["env"] if change["check"] is None else f"{change['env']} {change['check']}"
    line = f"{what} {change['from']} -> {change['to']}"
    times = change.get("times", 1)
    return f"{line} ({times} changes, flapping)" if times > 1 else line


def render_feed(doc: JsonDoc) -> bytes:
    """The feed of a validated snapshot `doc`, UTF-8. Its `updated` is its newest entry's
    time (the pass's, when there is none): a feed whose entries did not change is the same
    bytes pass after pass, so a reader's conditional GET is answered 304."""
    changes = sorted(doc.get("recent") or (), key=lambda c: str(c["at"]), reverse=True)
    cards = {env["name"] for env in doc["environments"]}
    root = ET.Element("feed", xmlns=ATOM)
    _text(root, "id", feed_id(doc))
    _text(root, "title", title(doc))
    _text(
        root,
        "subtitle",
        "What changed on the board in the last 24 hours, newest first: an environment "
        "or a check, from one status to another, and why.",
    )
    _text(root, "updated", changes[0]["at"] if changes else doc["generated_at"])
    _text(ET.SubElement(root, "author"), "name", AUTHOR)
    _text(root, "generator", "fleetboard", version=doc["collector"]["version"])
    # Relative, like the page's own links: resolved against the feed's address, wherever
    # the board is served (a bucket behind CloudFront, a folder on a laptop).
    _link(root, "self", FEED, MEDIA_TYPE)
    _link(root, "alternate", INDEX, "text/html")
    for change in changes:
        entry = ET.SubElement(root, "entry")
        _text(entry, "id", entry_id(doc, change))
        _text(entry, "title", entry_title(change))
        _text(entry, "updated", change["at"])
        # An entry without content needs an alternate link (RFC 4287 4.1.2): the card.
        card = f"#env-{quote(change['env'], safe='')}" if change["env"] in cards else ""
        _link(entry, "alternate", INDEX + card, "text/html")
        ET.SubElement(entry, "category", term=_xml(change["to"]))
        _text(entry, "summary", change["reason"])
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n'.encode()


def _urn(*names: str) -> str:
    # A unit separator between the names: ("a b", "c") and ("a", "b c") are other ids.
    return uuid.uuid5(NAMESPACE, "\x1f".join(names)).urn


def _xml(value: object) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def _text(parent: ET.Element, tag: str, text: object, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: _xml(v) for k, v in attrs.items()})
    element.text = _xml(text)
    return element


def _link(parent: ET.Element, rel: str, href: str, media_type: str) -> None:
    ET.SubElement(parent, "link", rel=rel, type=media_type, href=_xml(href))

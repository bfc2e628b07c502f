"""The Atom feed of recent changes (feed.xml): made from the snapshot only, valid Atom that a
feed reader parses, newest first, one stable id per change, and every name and reason
escaped."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import timedelta
from typing import Any

from tests.boards import NOW, XSS, ZONE, demo, document, remembered, remembered_demo_board

from fleetboard import feed, memory, snapshot
from fleetboard.model import Board
from fleetboard.publish import FEED, INDEX, content_type

A = "{http://www.w3.org/2005/Atom}"
AUDIT = f"audit-test-2.{ZONE}"
MINUTE = timedelta(minutes=1)


def parsed(doc: dict[str, Any]) -> ET.Element:
    """The feed as a feed reader gets it: bytes, parsed by a real XML parser."""
    data = feed.render_feed(doc)
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(data)


def entries(root: ET.Element) -> list[dict[str, Any]]:
    return [
        {
            "id": e.findtext(f"{A}id"),
            "title": e.findtext(f"{A}title"),
            "updated": e.findtext(f"{A}updated"),
            "summary": e.findtext(f"{A}summary"),
            "link": e.find(f"{A}link[@rel='alternate']").get("href"),  # type: ignore[union-attr]
            "term": e.find(f"{A}category").get("term"),  # type: ignore[union-attr]
        }
        for e in root.findall(f"{A}entry")
    ]


def calm(at=NOW) -> Board:  # type: ignore[no-untyped-def]
    seen = demo(at)
    seen.answers(AUDIT)
    return seen.board()


def test_the_feed_is_atom_with_what_rfc_4287_requires() -> None:
    doc = document(remembered_demo_board())
    root = parsed(doc)
    assert root.tag == f"{A}feed"
    assert root.findtext(f"{A}id", "").startswith("urn:uuid:")
    assert root.findtext(f"{A}title") == f"{doc['fleet']['name']} fleet: recent changes"
    assert root.findtext(f"{A}author/{A}name") == "fleetboard"
    links = {link.get("rel"): link for link in root.findall(f"{A}link")}
    assert links["self"].get("href") == FEED
    assert links["self"].get("type") == "application/atom+xml"
    assert links["alternate"].get("href") == INDEX
    # Updated: the newest change, not the pass, so an unchanged feed keeps its bytes.
    assert root.findtext(f"{A}updated") == doc["recent"][0]["at"]
    for entry in root.findall(f"{A}entry"):
        for required in ("id", "title", "updated"):
            assert entry.findtext(f"{A}{required}"), required
        # no content: an alternate link is required, to the environment's card
        assert entry.find(f"{A}link[@rel='alternate']") is not None


def test_one_entry_per_recent_change_newest_first_with_its_reason() -> None:
    doc = document(remembered_demo_board())
    found = entries(parsed(doc))
    assert len(found) == len(doc["recent"]) == 2
    assert [e["updated"] for e in found] == sorted((e["updated"] for e in found), reverse=True)
    assert [(e["title"], e["summary"], e["link"], e["term"]) for e in found] == [
        ("test red -> stopped", "test is stopped", "index.html#env-test", "stopped"),
        ("test-2 worker:audit green -> red", "HTTP 502 in 41 ms", "index.html#env-test-2", "red"),
    ]
    # newest first even when the snapshot lists them in another order
    shuffled = copy.deepcopy(doc)
    shuffled["recent"].reverse()
    assert entries(parsed(shuffled)) == found


def test_a_change_keeps_its_id_from_pass_to_pass_and_a_new_one_gets_its_own() -> None:
    first = remembered_demo_board()
    later = remembered_demo_board(NOW + 5 * MINUTE)  # the same two changes, five minutes on
    ids_first = [e["id"] for e in entries(parsed(document(first)))]
    ids_later = [e["id"] for e in entries(parsed(document(later)))]
    assert ids_first == ids_later and len(set(ids_first)) == 2
    assert all(i.startswith("urn:uuid:") for i in ids_first)
    # A new change comes first, with an id of its own; the old ones keep theirs.
    shown, _ = remembered(calm(NOW), demo(NOW + MINUTE).board())
    again = entries(parsed(document(shown)))
    assert again[0]["title"] == "test-2 worker:audit green -> red"
    other_fleet = document(remembered_demo_board())
    other_fleet["fleet"]["name"] = "another"
    assert not set(ids_first) & {e["id"] for e in entries(parsed(other_fleet))}


def test_a_feed_whose_changes_did_not_change_is_the_same_bytes() -> None:
    a = feed.render_feed(document(remembered_demo_board()))
    b = feed.render_feed(document(remembered_demo_board(NOW + 3 * MINUTE)))
    assert a == b


def test_names_and_reasons_are_escaped_and_come_back_exactly() -> None:
    doc = document(remembered_demo_board(hostile=True))
    hostile = "<b>env</b> & \"quoted\" 'apos'"
    odd = copy.deepcopy(doc)
    odd["fleet"]["name"] = hostile
    odd["recent"][0]["env"] = hostile
    odd["recent"][0]["reason"] = f"{XSS} & <![CDATA[ ]]> \"' \x07bell"
    odd["recent"][0]["check"] = "a&b<c>"
    assert snapshot.problems(odd) == []  # a snapshot the schema allows
    data = feed.render_feed(odd)
    assert b"<script" not in data and b"<b>" not in data and b"<![CDATA[" not in data
    root = ET.fromstring(data)  # well-formed, control character and all
    [first, *_] = entries(root)
    assert first["title"].startswith(f"{hostile} a&b<c> ")
    assert first["summary"] == f"{XSS} & <![CDATA[ ]]> \"' \ufffdbell"
    assert root.findtext(f"{A}title") == f"{hostile} fleet: recent changes"
    # An environment that is not a card links the page, not a made-up anchor.
    assert first["link"] == INDEX
    # every other reason of the hostile demo comes back as the snapshot has it
    assert [e["summary"] for e in entries(root)][1:] == [t["reason"] for t in doc["recent"][1:]]


def test_a_board_from_before_the_memory_has_a_feed_with_no_entries() -> None:
    doc = document(demo(NOW).board())
    del doc["recent"]
    root = parsed(doc)
    assert root.findall(f"{A}entry") == []
    assert root.findtext(f"{A}updated") == doc["generated_at"]


def test_a_flapping_checks_changes_are_one_entry_that_says_so() -> None:
    boards = [calm(), demo(NOW).board(), calm(), demo(NOW).board(), calm()]
    timeline = None
    for i, board in enumerate(boards):
        shown, timeline = memory.remember(timeline, replace(board, generated_at=NOW + i * MINUTE))
    titles = [e["title"] for e in entries(parsed(document(shown)))]
    # from the first change's `from` to the last one's `to`: green at both ends
    audit = [t for t in titles if t.startswith("test-2 worker:audit")]
    assert audit == ["test-2 worker:audit green -> green (4 changes, flapping)"]


def test_the_feed_is_served_as_atom() -> None:
    assert content_type(FEED).split(";")[0] == "application/atom+xml"

"""Reading a rendered page as a user agent would: its tags with their attributes, its text,
and one environment's card. Shared by the page tests."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class Tags(HTMLParser):
    """Every tag of a page with its attributes (self-closing ones too: an SVG's `<polyline/>`),
    and the text outside tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    tags.close()
    return tags


def card(html: str, env: str) -> str:
    """The HTML of one environment card."""
    found = re.search(
        rf'<article class="card [^"]*" id="env-{re.escape(env)}">(.*?)</article>', html, re.S
    )
    assert found, f"no card for {env}"
    return found.group(1)

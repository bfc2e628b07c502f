"""What a host name, an address (host[:port]) and a URL in fleet.toml may be.

The schema's formats (fleet-hostname, fleet-address, fleet-url) call these, and the
builder asks host_problem about the host names it makes from service names.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_LABEL = re.compile(r"[A-Za-z0-9-]+")


def host_problem(host: str) -> str | None:
    """Why `host` is not a DNS host name (RFC 1123: labels of letters, digits and '-', each
    1-63 long, not starting or ending with '-', 253 in all), or None when it is one."""
    if len(host) > 253:
        return f"is {len(host)} characters long; a host name has at most 253"
    labels = host.split(".")
    for label in labels:
        if not label:
            return "has an empty label (two dots in a row, or a dot at an end)"
        if len(label) > 63:
            return f"has a label of {len(label)} characters; labels have at most 63"
        if not _LABEL.fullmatch(label):
            return "has characters other than letters, digits, '-' and '.'"
        if label.startswith("-") or label.endswith("-"):
            return "has a label that starts or ends with '-'"
    if labels[-1].isdigit():
        return "ends in a number but is not an IP address"
    return None


def has_port(text: str) -> bool:
    """Whether an address (host, [v6], host:port, [v6]:port) ends in a port."""
    if text.startswith("["):
        return "]:" in text
    if text.count(":") > 1:  # a bare IPv6 address
        return False
    return ":" in text


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def check_hostname(value: object) -> bool:
    if isinstance(value, str) and (why := host_problem(value)):
        raise ValueError(f"it {why}")
    return True


def check_address(value: object) -> bool:
    if not isinstance(value, str):
        return True
    host = value.rpartition(":")[0] if has_port(value) else value
    if host.startswith("[") or host.endswith("]"):
        inner = host.removeprefix("[").removesuffix("]")
        if not (host.startswith("[") and host.endswith("]") and ":" in inner and _is_ip(inner)):
            raise ValueError("brackets hold an IPv6 address, and only one")
    elif not _is_ip(host) and (why := host_problem(host)):
        raise ValueError(f"the host {why}")
    return True


def check_url(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)  # ValueError: an unclosed "[" (its message is the reason)
    if parts.username is not None or parts.password is not None:
        raise ValueError("it holds a user name or password; credentials go in a secret")
    host = parts.hostname
    if not host:
        raise ValueError("it has no host")
    if parts.port == 0:  # ValueError for a port that is not a number or past 65535
        raise ValueError("port 0")
    if not _is_ip(host) and (why := host_problem(host)):
        raise ValueError(f"the host {why}")
    return True

"""Secrets (the GitHub token, the RPC URL with its API key) held so they cannot leak.

A `Secret`'s repr and str are redacted, so it can sit in a dataclass, a log line or an
exception without showing its value; only `reveal()` gives the value, at the point of use.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import unquote, urlsplit

from fleetboard.text import scrub

#: What a secret holds until an operator fills it (`aws secretsmanager put-secret-value`).
PLACEHOLDERS = frozenset({"", "REPLACE_ME", "{}"})

_providers: dict[int, Any] = {}
#: (client, secret) -> until when it is known not to be filled in.
_unfilled: dict[tuple[int, str], float] = {}


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class SecretUnreadable(Exception):
    """A secret that could not be read; the message is scrubbed (text.scrub) and never holds
    the request's headers or signature."""


def url_secrets(url: str) -> tuple[str, ...]:
    """The parts of a URL that may carry a key, to be hidden wherever the URL is quoted:
    userinfo, path, query and fragment (hosted RPCs put their API key in the path or the
    query), as written and unquoted. Never the scheme, host or port, which reasons keep: a
    public, keyless URL has nothing to hide.

        >>> url_secrets("https://user:pw@rpc.example.com/v3/KEY?apikey=Q")
        ('user:pw@', 'user:pw', 'pw', '/v3/KEY?apikey=Q', '/v3/KEY', 'apikey=Q')
        >>> url_secrets("http://127.0.0.1:8545/")
        ()
    """
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL at all (a bad port): all of it is to be hidden
        return (url,) if url else ()
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    tail = url[url.find(parts.netloc) + len(parts.netloc) :] if parts.netloc else url
    found = [
        f"{userinfo}@" if userinfo else "",
        userinfo,
        password or "",
        tail,
        parts.path,
        parts.query,
        parts.fragment,
    ]
    found += [unquote(part) for part in found]
    # "/" alone (or any one character) hides nothing and would shred every text it is in.
    return tuple(dict.fromkeys(part for part in found if len(part) > 1))


def read_secret(secret_id: str, *, client: Any = None, max_age_s: int = 300) -> Secret | None:
    """The secret's value through Powertools parameters, cached for `max_age_s` (≥ 300 s,
    so a pass a minute costs one Secrets Manager call per five minutes per container).

    None while it is not filled in (no value yet, or a placeholder): the source that needs
    it then says "not configured". That answer is cached for as long as a value would be.
    """
    from aws_lambda_powertools.utilities import parameters

    max_age_s = max(max_age_s, 300)
    now = time.monotonic()
    if _unfilled.get((id(client), secret_id), 0.0) > now:
        return None
    # The cache lives in the provider, so keep one per client for the process's life.
    provider = _providers.get(id(client))
    if provider is None:
        provider = _providers[id(client)] = parameters.SecretsProvider(boto3_client=client)
    try:
        value: object = provider.get(secret_id, max_age=max_age_s)
    except parameters.GetParameterError as exc:
        # A secret created empty has no value yet: Secrets Manager says ResourceNotFound.
        if "ResourceNotFoundException" not in str(exc):
            # botocore's words may quote the signed request (a region with a newline makes
            # urllib3 refuse, and print, the Authorization header): only scrubbed words go on.
            raise SecretUnreadable(
                f"secret {secret_id} could not be read: {scrub(str(exc))}"
            ) from None
        value = None
    text = value.decode() if isinstance(value, bytes) else "" if value is None else str(value)
    if text.strip() in PLACEHOLDERS:
        _unfilled[(id(client), secret_id)] = now + max_age_s
        return None
    return Secret(text.strip())

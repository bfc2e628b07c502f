"""The chain source: every wallet's balance and nonce, every slot's master registration and
the paymaster deposits, in ONE JSON-RPC batch (one HTTP round trip) per pass.

The batch holds, whatever the fleet size:

- `eth_chainId` (a wrong chain makes every answer meaningless: the source fails),
- `eth_getBlockByNumber("latest", false)`, read raw for its number and timestamp only (Heima's
  headers lack fields web3's typed block parsing expects),
- per distinct wallet address `eth_getBalance` and `eth_getTransactionCount`,
- per (registry, omni) `eth_call operatorMasterWallet(omni)`,
- per (EntryPoint, paymaster) `eth_call balanceOf(paymaster)`.

It is sent as one JSON-RPC 2.0 batch with web3's `HTTPProvider.make_batch_request`, with no
retries (a failure is data; the next pass is a minute away), over a requests session made
for the pass (`_BoundedAdapter`): the answer is read whole within the source's timeout and a
size cap, so a node (or a proxy) that trickles or floods fails this source on time, not the
pass. The answer must be the node's own: 200, JSON by content type, a batch (a list) of
JSON-RPC 2.0 responses whose ids are exactly those web3 sent; an HTML page with 200, or
anything else, fails the source saying what came back, before web3 takes the body apart.
Answers stay raw hex (no web3 typed parsing): the pure `fleetboard.chain` decodes them and
the rules judge them.

The RPC URL is a secret (hosted RPCs carry an API key in the path or query): no reason,
note, log line or fact names more of it than its scheme and host, and web3's and urllib3's
debug logs, which print the URL or the request line, are held at INFO.

    facts = ChainSource().collect(inventory, ctx)  # ChainFacts | SourceFailure
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

import fleetboard.chain as evm
from fleetboard import __version__, jsonsafe
from fleetboard.inventory import ChainSettings, Inventory
from fleetboard.model import AccountFacts, CallFacts, ChainFacts, SourceFailure
from fleetboard.secrets import url_secrets
from fleetboard.sources import PassContext, secret_value, wire
from fleetboard.text import scrub

log = logging.getLogger(__name__)

NAME = "chain"
NOT_CONFIGURED = "not configured (no [chain] section in fleet.toml)"
#: Loggers that print the endpoint URI, the request line or the URL's path at DEBUG.
_URL_LOGGERS = (
    "web3",
    "web3.providers.HTTPProvider",
    "web3._utils.http_session_manager.HTTPSessionManager",
    "urllib3.connectionpool",
    "urllib3.util.retry",
)
#: A pass needs at least this long left to be worth the round trip.
MIN_CALL_S = 0.2
_MESSAGE_CHARS = 160
#: The largest batch answer read: ~100 bytes an entry, 300 entries for 100 slots, is 30 KB.
ANSWER_CAP_BYTES = 4 * 1024 * 1024
USER_AGENT = f"fleetboard/{__version__}"
_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "User-Agent": USER_AGENT,
}
#: Words of a JSON-RPC error that say the node is limiting requests (-32005 is the usual code).
_RATE_WORDS = ("rate limit", "too many requests", "exceeded the limit", "capacity exceeded")


class _Failed(Exception):
    """The batch as a whole failed; the message is safe to show (no URL in it)."""

    def __init__(self, message: str, *, blind: bool = False) -> None:
        super().__init__(message)
        #: The cause is on the collector's side (no DNS for the RPC's name, no route).
        self.blind = blind


@dataclass(frozen=True, slots=True)
class _Request:
    key: tuple[str, ...]  # what the answer is for: ("balance", address), ("master", reg, omni)
    method: str
    params: list[Any]


class ChainSource:
    """Read the fleet's chain identity with one JSON-RPC batch.

    The RPC URL comes from `ctx.secrets["rpc_url"]` (Lambda), else the environment variable
    `[chain] rpc_env` (a laptop), else `[chain] rpc_url` (a public, keyless endpoint only).
    `environ` replaces os.environ, for tests.
    """

    name: str = NAME
    needs: ClassVar[tuple[str, ...]] = ()
    wants: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self, *, network: str | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        # One source per network, run side by side: "chain" for [chain], "chain:<name>" for
        # [chain.networks.<name>]; each sends its own single batch.
        self.network = network
        self.name = NAME if network is None else f"{NAME}:{network}"
        self._environ = environ

    def collect(self, inventory: Inventory, ctx: PassContext) -> ChainFacts | SourceFailure:
        settings = inventory.chain_settings(self.network)
        if settings is None:
            return SourceFailure(self.name, NOT_CONFIGURED)
        secret = "rpc_url" if self.network is None else f"rpc_url_{self.network}"
        keyed = secret_value(ctx, secret, settings.rpc_env, self._environ)
        url = keyed or settings.rpc_url
        if url is None:
            return SourceFailure(
                self.name,
                f"no RPC URL (secret {secret}, ${settings.rpc_env} on a laptop, or rpc_url "
                "for a keyless endpoint)",
            )
        endpoint = describe_endpoint(url, keyless=keyed is None)
        timeout = min(settings.timeout_s, ctx.remaining_s())
        if timeout < MIN_CALL_S:
            return SourceFailure(self.name, f"no time left in the pass to ask {endpoint}")
        batch = plan(inventory, self.network)
        try:
            answers = _send(url, batch, timeout, endpoint)
            return _facts(settings, batch, answers, endpoint)
        except _Failed as failed:
            # The host stays (the README's promise); the path, query and userinfo, where
            # hosted RPCs keep their keys, never do.
            reason = scrub(f"{endpoint}: {failed}", url_secrets(url))
            log.info("%s: %s", self.name, reason)
            return SourceFailure(self.name, reason, blind=failed.blind)


def warm_up() -> None:
    """Import web3 now, before a pass starts: it holds the GIL for seconds, and probes
    timed meanwhile would look slow. Later imports are free."""
    from web3 import HTTPProvider  # noqa: F401


def plan(inventory: Inventory, network: str | None = None) -> list[_Request]:
    """The batch for one network: chain id, newest block, then one entry per distinct
    wallet, registration and deposit of its environments (a shared contract set is asked
    once)."""
    batch = [
        _Request(("chain_id",), "eth_chainId", []),
        _Request(("block",), "eth_getBlockByNumber", ["latest", False]),
    ]
    seen: set[tuple[str, ...]] = set()

    def add(key: tuple[str, ...], method: str, params: list[Any]) -> None:
        if key not in seen:
            seen.add(key)
            batch.append(_Request(key, method, params))

    for env in inventory.environments:
        identity = env.chain
        if identity is None or env.retired or identity.network != network:
            continue
        for address in (identity.deployer, identity.sponsor, identity.bundler):
            if address:
                a = address.lower()
                add(("balance", a), "eth_getBalance", [a, "latest"])
                add(("nonce", a), "eth_getTransactionCount", [a, "latest"])
        if identity.registry and identity.deployer:
            omni = evm.operator_omni(identity.deployer)
            call = {"to": identity.registry.lower(), "data": evm.master_calldata(omni)}
            add(("master", identity.registry.lower(), omni), "eth_call", [call, "latest"])
        if identity.entrypoint and identity.paymaster:
            ep, pm = identity.entrypoint.lower(), identity.paymaster.lower()
            call = {"to": ep, "data": evm.balance_of_calldata(pm)}
            add(("deposit", ep, pm), "eth_call", [call, "latest"])
    return batch


def _send(url: str, batch: list[_Request], timeout: float, endpoint: str) -> list[Any]:
    """One HTTP POST with the whole batch, through web3, read whole within `timeout`; the
    raw answers in request order."""
    from web3 import HTTPProvider

    for name in _URL_LOGGERS:  # their DEBUG lines print the URL with its key
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
    adapter = _BoundedAdapter(time.monotonic() + timeout, timeout, endpoint)
    session = _session(adapter)
    provider = HTTPProvider(
        url,
        request_kwargs={"timeout": timeout, "headers": _HEADERS},
        session=session,
        exception_retry_configuration=None,
    )
    try:
        answer = provider.make_batch_request([(r.method, r.params) for r in batch])
    except _Failed:
        raise  # the adapter's word: transport, status, content type or batch shape
    except Exception as exc:  # web3 taking apart an answer the adapter let through
        raise _Failed(f"malformed answer ({type(exc).__name__})") from None
    finally:
        session.close()
    return _in_request_order(answer, adapter.sent_ids)


def _session(adapter: _BoundedAdapter) -> Any:
    """A requests session for one pass whose every request goes through `adapter`. Nothing
    is taken from the environment (proxies, .netrc credentials, a CA bundle): the RPC is
    reached directly, as the other sources reach their hosts."""
    session = requests.Session()
    session.trust_env = False
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class _BoundedAdapter(HTTPAdapter):  # type: ignore[misc]  # requests is not analysed (pyproject)
    """requests' HTTP adapter, made for one pass's one batch: no retries; the connection and
    the head wait at most what is left of the budget, and the body, streamed, is read whole
    by the deadline and at most ANSWER_CAP_BYTES long (a larger Content-Length is refused
    before reading), then held as the response's content for web3 to parse. Only a 200
    JSON answer that is a JSON-RPC 2.0 batch answer to what web3 sent gets through; anything
    else raises _Failed saying what came back (a redirect too: none is followed)."""

    def __init__(self, deadline: float, budget_s: float, endpoint: str) -> None:
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0)
        self._deadline = deadline  # time.monotonic() value
        self._budget_s = budget_s
        self._endpoint = endpoint
        #: The request ids of the batch web3 sent, in request order.
        self.sent_ids: list[int] = []

    def send(
        self,
        request: Any,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> Any:
        budget_s = self._budget_s
        left_s = self._deadline - time.monotonic()
        if left_s <= 0:
            raise _Failed(f"no answer within {budget_s:.1f} s")
        self.sent_ids = _sent_ids(request.body)
        try:
            # Streamed whatever the caller asked: the body is read here, by the deadline.
            response = super().send(
                request,
                stream=True,
                timeout=(left_s, left_s),
                verify=verify,
                cert=cert,
                proxies=proxies,
            )
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise _transport_failure(exc, budget_s, self._endpoint) from None
        status = response.status_code
        try:
            data = wire.read_whole(
                response.raw, deadline=self._deadline, cap_bytes=ANSWER_CAP_BYTES, read_s=budget_s
            )
        except wire.AnswerOverrun as overrun:
            raise _Failed(f"answered {status}, then {overrun} within {budget_s:.1f} s") from None
        except urllib3.exceptions.HTTPError as exc:
            raise _transport_failure(exc, budget_s, self._endpoint) from None
        finally:
            response.raw.release_conn()
        _check_answer(status, response.headers, data, self.sent_ids)
        response._content = data  # what web3 reads as `response.content`
        response._content_consumed = True
        return response


def _sent_ids(body: bytes | str | None) -> list[int]:
    """The ids of the batch web3 encoded, in request order."""
    try:
        batch = json.loads(body or b"")  # web3's own encoding of our requests: trusted
        return [int(item["id"]) for item in batch]
    except (ValueError, TypeError, KeyError):
        raise _Failed("request failed (web3 sent no JSON-RPC batch)") from None


def _transport_failure(exc: Exception, timeout: float, endpoint: str) -> _Failed:
    where = endpoint.removeprefix("the RPC at ")
    cause = wire.collector_cause(exc, f"the RPC's host ({where})")
    if cause is not None:
        return _Failed(f"not answered: {cause}", blind=True)
    return _Failed(wire.transport_reason(exc, timeout))


def _check_answer(status: int, headers: Mapping[str, str], data: bytes, sent: list[int]) -> None:
    """Nothing, if the answer is the node's answer to the batch: 200, JSON, a JSON-RPC 2.0
    batch answer whose ids are exactly the ids sent; else _Failed saying what came back."""
    if status == 429:
        after = (headers.get("Retry-After") or "").strip()
        wait = f": retry after {after} s" if after.isdigit() and len(after) <= 6 else ""
        raise _Failed(f"HTTP 429: rate limited (too many requests){wait}")
    if status != 200:
        raise _Failed(f"HTTP {status}")
    media_type = wire.content_type(headers)
    if not wire.is_json(media_type, loose=True):
        raise _Failed(
            f"answered 200 with {media_type or 'no content type'}, not a JSON-RPC answer: "
            f"{wire.evidence(data)}"
        )
    try:
        answer = jsonsafe.loads(data)
    except ValueError:
        raise _Failed(f"malformed answer (not JSON): {wire.evidence(data)}") from None
    if isinstance(answer, dict):  # the node refused the batch as a whole
        if "error" in answer:
            raise _Failed(_rpc_error(answer.get("error")))
        raise _Failed("malformed answer: one JSON object, not a batch answer")
    if not isinstance(answer, list):
        raise _Failed(f"malformed answer: JSON {type(answer).__name__}, not a batch answer")
    if len(answer) != len(sent):
        raise _Failed(f"malformed answer: {len(answer)} results for {len(sent)} requests")
    ids: set[int] = set()
    for item in answer:
        key = item.get("id") if isinstance(item, dict) else None
        if not isinstance(item, dict) or isinstance(key, bool) or not isinstance(key, int):
            raise _Failed("malformed answer: results without their request ids")
        if item.get("jsonrpc") != "2.0" or ("result" not in item and "error" not in item):
            raise _Failed(f"malformed answer: result {key} is not a JSON-RPC 2.0 response")
        ids.add(key)
    if ids != set(sent) or len(ids) != len(sent):
        raise _Failed("malformed answer: the result ids do not match the request ids")


def _in_request_order(answer: Any, sent: list[int]) -> list[Any]:
    """web3's decoded batch answer (sorted by id), in the order the requests were sent."""
    # _check_answer has already held the raw answer's ids to `sent`, before web3 read it.
    if not isinstance(answer, list):
        raise _Failed("malformed answer: not a batch answer")
    by_id = {item["id"]: item for item in answer}
    return [by_id[i] for i in sent]


def _facts(
    settings: ChainSettings, batch: list[_Request], answers: list[Any], endpoint: str
) -> ChainFacts:
    results = {r.key: a for r, a in zip(batch, answers, strict=True)}
    chain_id = _essential(results[("chain_id",)], "eth_chainId")
    try:
        got_id = evm.decode_quantity(chain_id)
    except ValueError as exc:
        raise _Failed(f"malformed chain id ({exc})") from None
    if got_id != settings.chain_id:
        raise _Failed(
            f"wrong chain: the node answers chain id {got_id}, fleet.toml expects "
            f"{settings.chain_id} ({settings.name})"
        )
    block = _essential(results[("block",)], "eth_getBlockByNumber")
    number, when = _block(block)
    accounts: dict[str, AccountFacts] = {}
    masters: dict[tuple[str, str], CallFacts] = {}
    deposits: dict[tuple[str, str], CallFacts] = {}
    for key, answer in results.items():
        if key[0] == "balance":
            accounts[key[1]] = _account(key[1], answer, results[("nonce", key[1])])
        elif key[0] == "master":
            masters[(key[1], key[2])] = _call(key[1], answer)
        elif key[0] == "deposit":
            deposits[(key[1], key[2])] = _call(key[1], answer)
    log.debug("chain: %d requests in one batch to %s, block %s", len(batch), endpoint, number)
    return ChainFacts(got_id, number, when, accounts, masters, deposits, requests=1)


def _essential(answer: Mapping[str, Any], method: str) -> Any:
    if "error" in answer:
        raise _Failed(f"{method}: {_rpc_error(answer['error'])}")
    if answer.get("result") is None:
        raise _Failed(f"{method}: malformed answer (no result)")
    return answer["result"]


def _block(block: Any) -> tuple[int | None, datetime | None]:
    if not isinstance(block, dict):
        raise _Failed("eth_getBlockByNumber: malformed answer (not a block)")
    try:
        number = evm.decode_quantity(block.get("number"))
        when = datetime.fromtimestamp(evm.decode_quantity(block.get("timestamp")), UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise _Failed(f"eth_getBlockByNumber: malformed block ({exc})") from None
    return number, when


def _account(address: str, balance: Mapping[str, Any], nonce: Mapping[str, Any]) -> AccountFacts:
    values: list[int | None] = []
    errors: list[str] = []
    for what, answer in (("balance", balance), ("nonce", nonce)):
        if "error" in answer:
            errors.append(f"{what}: {_rpc_error(answer['error'])}")
            values.append(None)
            continue
        try:
            values.append(evm.decode_quantity(answer.get("result")))
        except ValueError as exc:
            errors.append(f"{what}: malformed ({exc})")
            values.append(None)
    return AccountFacts(address, values[0], values[1], "; ".join(errors) or None)


def _call(contract: str, answer: Mapping[str, Any]) -> CallFacts:
    if "error" in answer:
        return CallFacts(contract, None, _rpc_error(answer["error"]))
    result = answer.get("result")
    if not isinstance(result, str):
        return CallFacts(contract, None, "malformed: no result")
    return CallFacts(contract, result)


def _rpc_error(error: object) -> str:
    """A JSON-RPC error object as a short reason; reverts said as such."""
    if not isinstance(error, dict):
        return "JSON-RPC error (malformed)"
    code, message = error.get("code"), str(error.get("message", ""))[:_MESSAGE_CHARS]
    if code == 3 or "revert" in message.lower():
        return f"reverted ({message})" if message else "reverted"
    if code in (-32005, 429) or any(w in message.lower() for w in _RATE_WORDS):
        return f"rate limited (JSON-RPC error {code}: {message})"
    return f"JSON-RPC error {code}: {message}"


def describe_endpoint(url: str, *, keyless: bool = False) -> str:
    """How reasons name the RPC: scheme, host and port only. A host label that looks like a
    key (some providers put it in the subdomain: a long run of letters and digits, or a
    UUID) is elided too, unless the URL is the keyless `rpc_url` of fleet.toml, which is no
    secret and is shown as written."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "?", parts.port
    except ValueError:  # not a URL one could connect to (a bad port)
        return "the RPC at ?"
    labels = host.split(".")
    if not keyless:
        labels = ["…" if _KEY_LABEL.fullmatch(label) else label for label in labels]
    shown = ".".join(labels)
    if ":" in shown:  # an IPv6 address
        shown = f"[{shown}]"
    return f"the RPC at {parts.scheme or '?'}://{shown}{f':{port}' if port else ''}"


#: A host label that is a key rather than a name: 16+ letters and digits with a digit among
#: them (no hyphen, which names have and keys rarely do), or a UUID.
_KEY_LABEL = re.compile(
    r"(?=[A-Za-z0-9_]*\d)[A-Za-z0-9_]{16,}|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"
)

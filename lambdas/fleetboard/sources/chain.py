"""The chain source: every wallet's balance and nonce, every slot's master registration and
the paymaster deposits, in ONE JSON-RPC batch (one HTTP round trip) per pass.

The batch holds, whatever the fleet size:

- `eth_chainId` (a wrong chain makes every answer meaningless: the source fails),
- `eth_getBlockByNumber("latest", false)`, read raw for its number and timestamp only (Heima's
  headers lack fields web3's typed block parsing expects),
- per distinct wallet address `eth_getBalance` and `eth_getTransactionCount`,
- per (registry, omni) `eth_call operatorMasterWallet(omni)`,
- per (EntryPoint, paymaster) `eth_call balanceOf(paymaster)`.

web3's HTTP provider sends it, with no retries (a failure is data; the next pass is a minute
away), and is imported only here, so a fleet with no [chain] pays nothing for it. Answers
stay raw hex: the pure `fleetboard.chain` decodes them and the rules judge them.

The RPC URL is a secret (hosted RPCs carry an API key in the path or query): no reason,
note, log line or fact names more of it than its scheme and host, and web3's and urllib3's
debug logs, which print the whole URL, are held at INFO for the loggers that do.

    facts = ChainSource().collect(inventory, ctx)  # ChainFacts | SourceFailure
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import fleetboard.chain as evm
from fleetboard.inventory import ChainSettings, Inventory
from fleetboard.model import AccountFacts, CallFacts, ChainFacts, SourceFailure
from fleetboard.sources import PassContext, secret_value

log = logging.getLogger(__name__)

NAME = "chain"
NOT_CONFIGURED = "not configured (no [chain] section in fleet.toml)"
#: Loggers that print the endpoint URI or the request line at DEBUG.
_URL_LOGGERS = ("web3", "urllib3.connectionpool")
#: A pass needs at least this long left to be worth the round trip.
MIN_CALL_S = 0.2
_MESSAGE_CHARS = 160


class _Failed(Exception):
    """The batch as a whole failed; the message is safe to show (no URL in it)."""


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
        url = secret_value(ctx, secret, settings.rpc_env, self._environ) or settings.rpc_url
        if url is None:
            return SourceFailure(
                self.name,
                f"no RPC URL (secret {secret}, ${settings.rpc_env} on a laptop, or rpc_url "
                "for a keyless endpoint)",
            )
        endpoint = describe_endpoint(url)
        timeout = min(settings.timeout_s, ctx.remaining_s())
        if timeout < MIN_CALL_S:
            return SourceFailure(self.name, f"no time left in the pass to ask {endpoint}")
        requests = plan(inventory, self.network)
        try:
            answers = _send(url, requests, timeout)
            return _facts(settings, requests, answers, endpoint)
        except _Failed as failed:
            reason = _scrub(f"{endpoint}: {failed}", url)
            log.info("%s: %s", self.name, reason)
            return SourceFailure(self.name, reason)


def warm_up() -> None:
    """Import web3 now, before a pass starts: it holds the GIL for seconds, and probes
    timed meanwhile would look slow. Later imports are free."""
    from web3 import HTTPProvider  # noqa: F401


def plan(inventory: Inventory, network: str | None = None) -> list[_Request]:
    """The batch for one network: chain id, newest block, then one entry per distinct
    wallet, registration and deposit of its environments (a shared contract set is asked
    once)."""
    requests = [
        _Request(("chain_id",), "eth_chainId", []),
        _Request(("block",), "eth_getBlockByNumber", ["latest", False]),
    ]
    seen: set[tuple[str, ...]] = set()

    def add(key: tuple[str, ...], method: str, params: list[Any]) -> None:
        if key not in seen:
            seen.add(key)
            requests.append(_Request(key, method, params))

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
    return requests


def _send(url: str, requests: list[_Request], timeout: float) -> list[Any]:
    """One HTTP POST with the whole batch; the raw answers in request order."""
    from requests import exceptions as http  # web3's transport
    from web3 import HTTPProvider

    for name in _URL_LOGGERS:  # their DEBUG lines print the URL with its key
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
    provider = HTTPProvider(
        url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
    )
    try:
        answer = provider.make_batch_request([(r.method, r.params) for r in requests])
    except http.Timeout:
        raise _Failed(f"no answer within {timeout:.1f} s") from None
    except http.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise _Failed(f"HTTP {status}") from None
    except http.ConnectionError as exc:
        raise _Failed(_connection_reason(exc)) from None
    except (ValueError, TypeError, KeyError) as exc:  # not JSON, or not JSON-RPC
        raise _Failed(f"malformed answer ({type(exc).__name__})") from None
    except http.RequestException as exc:
        raise _Failed(f"request failed ({type(exc).__name__})") from None
    except Exception as exc:  # web3 taking apart an answer that is not JSON-RPC
        raise _Failed(f"malformed answer ({type(exc).__name__})") from None
    if isinstance(answer, dict):  # the node refused the batch as a whole
        raise _Failed(_rpc_error(answer.get("error")) if "error" in answer else "malformed answer")
    if not isinstance(answer, list) or len(answer) != len(requests):
        got = len(answer) if isinstance(answer, list) else type(answer).__name__
        raise _Failed(f"malformed answer: {got} results for {len(requests)} requests")
    by_id = {item.get("id"): item for item in answer if isinstance(item, dict)}
    # web3 numbers a batch's requests consecutively; its answers come back sorted by id.
    ids = sorted(k for k in by_id if isinstance(k, int))
    if len(ids) != len(requests):
        raise _Failed("malformed answer: results without their request ids")
    return [by_id[i] for i in ids]


def _connection_reason(exc: Exception) -> str:
    text = str(exc)
    if "Connection refused" in text or "ECONNREFUSED" in text:
        return "connection refused"
    if "Name or service not known" in text or "NameResolutionError" in text:
        return "host name does not resolve"
    if "SSL" in text or "certificate" in text:
        return "TLS failed (certificate or protocol)"
    return f"cannot connect ({type(exc).__name__})"


def _facts(
    settings: ChainSettings, requests: list[_Request], answers: list[Any], endpoint: str
) -> ChainFacts:
    results = {r.key: a for r, a in zip(requests, answers, strict=True)}
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
    log.debug("chain: %d requests in one batch to %s, block %s", len(requests), endpoint, number)
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
    return f"JSON-RPC error {code}: {message}"


def describe_endpoint(url: str) -> str:
    """How reasons name the RPC: scheme and host only; a host label that looks like a key
    (some providers put it in the subdomain) is elided too."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    labels = [
        "…" if len(label) >= 20 and re.fullmatch(r"[A-Za-z0-9_-]+", label) else label
        for label in host.split(".")
    ]
    port = f":{parts.port}" if parts.port else ""
    return f"the RPC at {parts.scheme or '?'}://{'.'.join(labels)}{port}"


def _scrub(text: str, url: str) -> str:
    """Belt and braces: no part of the URL beyond its host survives in a reason."""
    parts = urlsplit(url)
    for secret in (url, parts.path + ("?" + parts.query if parts.query else ""), parts.query):
        if secret and len(secret) > 1:
            text = text.replace(secret, "***")
    if parts.password:
        text = text.replace(parts.password, "***")
    return text

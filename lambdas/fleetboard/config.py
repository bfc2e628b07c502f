"""fleet.toml -> Inventory, reporting every problem at once before any probe runs.

The shape is checked against schema/fleet.schema.json; the rules that span keys (duplicate
slots, a tag the pattern would never find, a broker name with no suffix rule) are checked
here. Every message names the file, the key path and the value, and says what would fix it.
"""

from __future__ import annotations

import difflib
import fnmatch
import ipaddress
import json
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from fleetboard.chain import parse_amount
from fleetboard.inventory import (
    BROKER_PATHS,
    Address,
    AwsSettings,
    ChainIdentity,
    ChainSettings,
    Environment,
    GithubSettings,
    Host,
    Inventory,
    ProbeSettings,
    Thresholds,
    eip_tag_for,
    service_host,
    suffix_from_broker,
)
from fleetboard.model import EnvKind

DEFAULT_TAG_PATTERN = "agentkeys-broker-eip*"
DEFAULT_SERVICES = ("signer",)
DEFAULT_WORKERS = ("audit", "email", "cred", "memory", "config", "classify")
DEFAULT_BUCKET_PATTERN = r"^agentkeys-[a-z]+(?P<suffix>-test(?:-\d+)?|-base)?-\d{12}$"
DEFAULT_PERIOD_S = 60


class ConfigError(ValueError):
    """fleet.toml is wrong; `problems` holds one line per mistake."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


#: The Cognito group whose members see the board, unless [deploy.auth] group names another.
DEFAULT_AUTH_GROUP = "fleetboard-viewers"


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """[deploy.auth]: sign-in in front of the board (docs/decisions/0009).

    Stage 1 sets `domain_prefix` (the pool, its group, hosted UI and app client are built);
    stage 2 adds the pool's and client's ids from the fleetboard-auth stack's outputs, and
    the edge function that checks every request is built with them.
    """

    domain_prefix: str  # <prefix>.auth.<region>.amazoncognito.com
    group: str = DEFAULT_AUTH_GROUP
    callback_host: str | None = None  # default: domain_name, and the *.cloudfront.net host
    user_pool_id: str | None = None  # stage 2, with client_id
    client_id: str | None = None

    @property
    def ready(self) -> bool:
        """Both ids are known: the edge function can be built (stage 2)."""
        return bool(self.user_pool_id and self.client_id)


@dataclass(frozen=True, slots=True)
class DeploySettings:
    """[deploy]: how `cdk deploy` builds the scheduled board. Not read by a pass."""

    alarm_email: str | None = None
    memory_mb: int = 512
    log_retention_days: int = 30
    history_days: int = 30  # history/ objects expire after this many days
    domain_name: str | None = None
    certificate_arn: str | None = None  # ACM, us-east-1; with domain_name
    tracing: bool = False  # X-Ray: off, so the collector's role writes nothing but its logs
    auth: AuthSettings | None = None  # none: the board answers every request with 403


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    inventory: Inventory
    period_s: int  # the schedule period the page uses to call a board stale
    deploy: DeploySettings = DeploySettings()


def load(path: str | Path) -> LoadedConfig:
    """Read and check fleet.toml; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the file ({exc.strerror or exc})"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    return loads(text, source=str(path), base_dir=path.parent)


def loads(text: str, *, source: str = "fleet.toml", base_dir: Path | None = None) -> LoadedConfig:
    """Like load(), for config text already in hand (tests, the demo)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: {_toml_message(str(exc))}"]) from None
    shape, broken = _schema_problems(raw)
    problems = [f"{source}: {p}" for p in shape]
    # Check meaning too, so one run reports every problem: skip only what the shape check
    # already found broken (a broken [fleet] table leaves nothing to build on).
    if not problems or (broken is not None and "fleet" not in broken):
        envs = {k: v for k, v in raw["environments"].items() if k not in (broken or set())}
        builder = _Builder({**raw, "environments": envs}, base_dir or Path())
        inventory = builder.build(source)
        problems += [f"{source}: {p}" for p in builder.problems]
    if problems:
        raise ConfigError(problems)
    period = int(raw["fleet"].get("period_s", DEFAULT_PERIOD_S))
    return LoadedConfig(inventory=inventory, period_s=period, deploy=_deploy(raw.get("deploy", {})))


def _github(raw: dict[str, Any]) -> GithubSettings:
    # The schema has checked every key and type.
    return GithubSettings(**{**raw, "workflows": tuple(raw["workflows"])})


def _deploy(raw: dict[str, Any]) -> DeploySettings:
    # The schema has checked every key and type.
    auth = raw.get("auth")
    return DeploySettings(**{**raw, "auth": AuthSettings(**auth) if auth is not None else None})


# --------------------------------------------------------------------------- TOML syntax

_DUP_TABLE = re.compile(r"Cannot declare \((?P<keys>.*)\) twice \(at line (?P<line>\d+)")
_AT_LINE = re.compile(r"\(at line (?P<line>\d+), column \d+\)")


def _toml_message(message: str) -> str:
    m = _DUP_TABLE.search(message)
    if m:
        keys = [k.strip().strip("'\"") for k in m.group("keys").split(",") if k.strip()]
        table = ".".join(keys)
        if len(keys) == 2 and keys[0] == "environments":
            return (
                f"line {m.group('line')}: environment {keys[1]!r} is declared twice; "
                f"keep one [environments.{keys[1]}] table"
            )
        return f"line {m.group('line')}: [{table}] is declared twice; keep one"
    m = _AT_LINE.search(message)
    if m:
        return f"line {m.group('line')}: not valid TOML ({_AT_LINE.sub('', message).strip()})"
    return f"not valid TOML ({message})"


# --------------------------------------------------------------------------- shape


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("fleetboard").joinpath("schema/fleet.schema.json").read_text()
    doc: dict[str, Any] = json.loads(text)
    return doc


def _schema_problems(raw: dict[str, Any]) -> tuple[list[str], set[str] | None]:
    """Shape problems, and which parts they break: "fleet" and the names of environments.

    The second value is None when the breakage is everywhere (a top-level table missing or
    of the wrong kind, or [probe]/[thresholds]/[aws] wrong), so nothing can be built.
    """
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(_schema())
    lines: list[str] = []
    broken: set[str] | None = set()
    for error in validator.iter_errors(raw):
        lines.extend(_describe(error))
        path = [str(p) for p in error.absolute_path]
        if broken is None:
            continue
        if path[:1] == ["environments"] and len(path) >= 2:
            broken.add(path[1])
        elif path[:1] == ["environments"] and error.validator == "propertyNames":
            broken.update(k for k in raw["environments"] if not _ENV_NAME.match(k))
        elif path[:1] == ["fleet"]:
            broken.add("fleet")
        else:
            broken = None
    return sorted(set(lines), key=lines.index), broken


_ENV_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def _key_path(parts: Iterable[Any]) -> str:
    return ".".join(str(p) for p in parts) or "(top level)"


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _toml_type(value: Any) -> str:
    match value:
        case bool():
            return "true/false"
        case int():
            return "an integer"
        case float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "an array"
        case dict():
            return "a table"
    return type(value).__name__


_EXPECTED = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a table",
    "array": "an array",
}


def _describe(error: Any) -> Iterator[str]:
    """One jsonschema error -> the lines a person reads (the interface, so tested exactly)."""
    path = list(error.absolute_path)
    where = _key_path(path)
    schema = error.schema
    kind = error.validator
    value = error.instance
    if kind == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        for key in sorted(set(value) - set(allowed)):
            hint = difflib.get_close_matches(key, allowed, n=1)
            did_you_mean = f"; did you mean {hint[0]!r}?" if hint else ""
            known = ", ".join(allowed)
            yield f"{_key_path([*path, key])}: unknown key{did_you_mean} (known here: {known})"
    elif kind == "required":
        props = schema.get("properties", {})
        for key in error.validator_value:
            if key not in value:
                prop = props.get(key, {})
                hint = prop.get("x-hint") or prop.get("description")
                suffix = f": {hint}" if hint else ""
                yield f"{_key_path([*path, key])}: missing{suffix}"
    elif kind == "type":
        expected = error.validator_value
        names = [expected] if isinstance(expected, str) else list(expected)
        want = " or ".join(_EXPECTED.get(n, n) for n in names)
        yield f"{where}: {_show(value)} is {_toml_type(value)}; expected {want}"
    elif kind == "pattern" and "x-rule" in schema:
        what = "has a space" if re.search(r"\s", value) else "is not allowed"
        yield f"{where}: {_show(value)} {what}; {schema['x-rule']}"
    elif kind == "pattern" and "x-message" in schema:
        yield f"{where}: {_show(value)} {schema['x-message']}"
    elif kind == "propertyNames":
        # The failing name is the instance of the nested error; report it by name.
        rule = schema["propertyNames"].get("x-message", "is not allowed")
        yield f"{where}: {_show(value)} {rule}"
    elif kind == "enum":
        options = ", ".join(_show(v) for v in error.validator_value)
        yield f"{where}: {_show(value)} is not one of {options}"
    elif kind in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        bound = {
            "minimum": "at least",
            "maximum": "at most",
            "exclusiveMinimum": "more than",
            "exclusiveMaximum": "less than",
        }[kind]
        yield f"{where}: {_show(value)} must be {bound} {error.validator_value}"
    elif kind == "uniqueItems":
        yield f"{where}: {_show(value)} lists a name twice"
    elif kind == "minProperties":
        yield f"{where}: declare at least one environment, e.g. [environments.prod]"
    else:
        yield f"{where}: {_show(value)}: {error.message}"


# --------------------------------------------------------------------------- meaning


class _Builder:
    """Turns a shape-checked config into an Inventory, collecting cross-key problems."""

    def __init__(self, raw: dict[str, Any], base_dir: Path) -> None:
        self.raw = raw
        self.base_dir = base_dir
        self.problems: list[str] = []

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{where}: {text}")

    def build(self, source: str) -> Inventory:
        fleet = self.raw["fleet"]
        pattern = fleet.get("eip_tag_pattern", DEFAULT_TAG_PATTERN)
        aws_raw = self.raw.get("aws", {})
        aws = AwsSettings(
            region=fleet["region"],
            zone=fleet["zone"],
            zone_id=fleet["zone_id"],
            eip_tag_pattern=pattern,
            endpoint_url=aws_raw.get("endpoint_url"),
            connect_timeout_s=float(aws_raw.get("connect_timeout_s", 3.0)),
            read_timeout_s=float(aws_raw.get("read_timeout_s", 5.0)),
        )
        probe = self._probe(self.raw.get("probe", {}))
        thresholds = self._thresholds(self.raw.get("thresholds", {}))
        bucket_pattern = fleet.get("bucket_pattern", DEFAULT_BUCKET_PATTERN)
        self._check_bucket_pattern(bucket_pattern)
        envs = tuple(
            self._environment(name, spec, fleet, pattern)
            for name, spec in self.raw["environments"].items()
        )
        self.check_deploy(int(fleet.get("period_s", DEFAULT_PERIOD_S)), probe)
        self._check_unique(envs)
        services = {h.label.removeprefix("worker:") for e in envs for h in e.hosts}
        for name in fleet.get("optional", ()):
            if envs and name not in services:
                self.problem("fleet.optional", f"{name!r} is a service of no environment")
        github = self.raw.get("github")
        chain = self.raw.get("chain")
        chain_settings = self._chain(chain) if chain is not None else None
        networks = {
            name: self._chain(spec, where=f"chain.networks.{name}", name=name)
            for name, spec in (chain or {}).get("networks", {}).items()
        }
        if chain is not None:
            envs = tuple(replace(e, chain=self._identity(e.name, chain)) for e in envs)
        else:
            for e in envs:
                if "chain" in self.raw["environments"][e.name]:
                    self.problem(
                        f"environments.{e.name}.chain",
                        "needs a [chain] section (at least chain_id) to be read",
                    )
        return Inventory(
            github=_github(github) if github is not None else None,
            chain=chain_settings,
            chain_networks=networks,
            source=source,
            fleet=fleet.get("name", fleet["zone"]),
            aws=aws,
            probe=probe,
            thresholds=thresholds,
            environments=envs,
            bucket_pattern=bucket_pattern,
        )

    def _probe(self, raw: Mapping[str, Any]) -> ProbeSettings:
        defaults = ProbeSettings()
        ca_bundle: Path | None = None
        if "ca_bundle" in raw:
            ca_bundle = (self.base_dir / raw["ca_bundle"]).resolve()
            if not ca_bundle.is_file():
                self.problem("probe.ca_bundle", f"{_show(raw['ca_bundle'])}: no such file")
        return ProbeSettings(
            connect_timeout_s=float(raw.get("connect_timeout_s", defaults.connect_timeout_s)),
            read_timeout_s=float(raw.get("read_timeout_s", defaults.read_timeout_s)),
            retry_delay_s=float(raw.get("retry_delay_s", defaults.retry_delay_s)),
            concurrency=int(raw.get("concurrency", defaults.concurrency)),
            body_cap_bytes=int(raw.get("body_cap_bytes", defaults.body_cap_bytes)),
            pass_deadline_s=float(raw.get("pass_deadline_s", defaults.pass_deadline_s)),
            ca_bundle=ca_bundle,
        )

    def _chain(
        self, raw: Mapping[str, Any], *, where: str = "chain", name: str | None = None
    ) -> ChainSettings:
        decimals = int(raw.get("decimals", 18))
        defaults = ChainSettings(chain_id=int(raw["chain_id"]))
        return ChainSettings(
            chain_id=int(raw["chain_id"]),
            name=raw.get("name", name or defaults.name),
            token=raw.get("token", defaults.token),
            decimals=decimals,
            rpc_env=raw.get("rpc_env", defaults.rpc_env),
            rpc_url=raw.get("rpc_url"),
            explorer_url=raw.get("explorer_url"),
            deploy_min_wei=self._wei(raw, where, "deploy_min", "1", decimals),
            paymaster_min_deposit_wei=self._wei(
                raw, where, "paymaster_min_deposit", "0.2", decimals
            ),
            timeout_s=float(raw.get("timeout_s", defaults.timeout_s)),
            max_block_age_s=int(raw.get("max_block_age_s", defaults.max_block_age_s)),
        )

    def _wei(
        self, raw: Mapping[str, Any], where: str, key: str, default: str, decimals: int
    ) -> int:
        """ "0.2" HEI -> 200000000000000000 wei, exactly (Decimal, never a float)."""
        text = str(raw.get(key, default))
        try:
            return parse_amount(text, decimals)
        except ValueError as exc:
            self.problem(f"{where}.{key}", f"{_show(text)} {exc}")
            return parse_amount(default, decimals)

    def _identity(self, name: str, chain: Mapping[str, Any]) -> ChainIdentity | None:
        spec = self.raw["environments"][name].get("chain")
        if spec is None:
            return None
        network = spec.get("network")
        # The contract set an environment does not name comes from its network's table.
        shared: Mapping[str, Any] = chain
        if network is not None:
            known = chain.get("networks", {})
            if network not in known:
                listed = ", ".join(sorted(known)) or "none"
                self.problem(
                    f"environments.{name}.chain.network",
                    f"{_show(network)} is no [chain.networks] entry (declared: {listed})",
                )
                return None
            shared = known[network]
        return ChainIdentity(
            network=network,
            deployer=spec.get("deployer"),
            registry=spec.get("registry", shared.get("registry")),
            entrypoint=spec.get("entrypoint", shared.get("entrypoint")),
            paymaster=spec.get("paymaster", shared.get("paymaster")),
            sponsor=spec.get("sponsor"),
            bundler=spec.get("bundler"),
        )

    def check_deploy(self, period_s: int, probe: ProbeSettings) -> None:
        deploy = self.raw.get("deploy", {})
        if ("domain_name" in deploy) != ("certificate_arn" in deploy):
            have, want = (
                ("domain_name", "certificate_arn")
                if "domain_name" in deploy
                else ("certificate_arn", "domain_name")
            )
            self.problem(
                f"deploy.{want}", f"missing: deploy.{have} is set, and one needs the other"
            )
        auth = deploy.get("auth", {})
        if ("user_pool_id" in auth) != ("client_id" in auth):
            have, want = (
                ("user_pool_id", "client_id")
                if "user_pool_id" in auth
                else ("client_id", "user_pool_id")
            )
            self.problem(
                f"deploy.auth.{want}",
                f"missing: deploy.auth.{have} is set, and the edge function needs both "
                "(the fleetboard-auth stack's UserPoolId and ClientId outputs)",
            )
        region = self.raw.get("fleet", {}).get("region")
        pool = auth.get("user_pool_id")
        if pool and region and not pool.startswith(f"{region}_"):
            self.problem(
                "deploy.auth.user_pool_id",
                f"{_show(pool)} is not in the fleet region {_show(region)}; the fleetboard-auth "
                "stack builds the pool there: copy its UserPoolId output",
            )
        if probe.pass_deadline_s > period_s - 10:
            self.problem(
                "probe.pass_deadline_s",
                f"{probe.pass_deadline_s:g} leaves less than 10 s of the {period_s} s schedule "
                "period; a pass must end before the next one starts",
            )

    def _thresholds(self, raw: Mapping[str, Any]) -> Thresholds:
        defaults = Thresholds()
        t = Thresholds(
            tls_amber_days=int(raw.get("tls_amber_days", defaults.tls_amber_days)),
            tls_red_days=int(raw.get("tls_red_days", defaults.tls_red_days)),
            slow_ms=float(raw.get("slow_ms", defaults.slow_ms)),
        )
        if t.tls_red_days > t.tls_amber_days:
            self.problem(
                "thresholds.tls_red_days",
                f"{t.tls_red_days} is more than tls_amber_days ({t.tls_amber_days}); "
                "red must come at fewer days left than amber",
            )
        return t

    def _check_bucket_pattern(self, pattern: str) -> None:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            self.problem(
                "fleet.bucket_pattern", f"{_show(pattern)} is not a regular expression ({exc})"
            )
            return
        if "suffix" not in compiled.groupindex:
            self.problem("fleet.bucket_pattern", f"{_show(pattern)} has no (?P<suffix>...) group")

    def _environment(
        self, name: str, spec: Mapping[str, Any], fleet: Mapping[str, Any], pattern: str
    ) -> Environment:
        where = f"environments.{name}"
        zone = fleet["zone"]
        broker_host = spec["broker_host"]
        if not broker_host.endswith("." + zone):
            self.problem(
                f"{where}.broker_host", f"{_show(broker_host)} is not in the zone {zone!r}"
            )
        suffix = spec.get("suffix")
        if suffix is None:
            suffix = suffix_from_broker(broker_host)
            if suffix is None:
                self.problem(
                    f"{where}.broker_host",
                    f"{_show(broker_host)} does not follow the broker naming rule "
                    '(broker., test-broker., broker-test-N., broker-base.); set "suffix"',
                )
                suffix = f"-{name}"  # a stand-in, so one mistake does not cascade
        kind, slot = self._kind_and_slot(where, spec, suffix)
        tag_base = pattern.rstrip("*?")
        eip_tag = spec.get("eip_tag", eip_tag_for(tag_base, suffix))
        if not fnmatch.fnmatchcase(eip_tag, pattern):
            self.problem(
                f"{where}.eip_tag",
                f"{_show(eip_tag)} does not match fleet.eip_tag_pattern {_show(pattern)}, "
                "so discovery would never find its EIP",
            )
        optional = set(fleet.get("optional", ())) | set(spec.get("optional", ()))
        hosts = self._hosts(where, spec, fleet, broker_host, suffix, zone, optional)
        return Environment(
            name=name,
            kind=kind,
            slot=slot,
            suffix=suffix,
            broker_host=broker_host,
            eip_tag=eip_tag,
            expected_issuer=spec.get("issuer", f"https://{broker_host}"),
            hosts=hosts,
            instance_id=spec.get("instance_id"),
            eip=spec.get("eip"),
            retired=bool(spec.get("retired", False)),
        )

    def _kind_and_slot(
        self, where: str, spec: Mapping[str, Any], suffix: str
    ) -> tuple[EnvKind, int | None]:
        inferred_slot: int | None = None
        if suffix == "":
            inferred = EnvKind.PROD
        elif suffix == "-base":
            inferred = EnvKind.BASE
        elif m := re.fullmatch(r"-test(?:-(\d+))?", suffix):
            inferred, inferred_slot = EnvKind.TEST_SLOT, int(m.group(1) or 1)
        else:
            inferred = EnvKind.OTHER
        kind = EnvKind(spec.get("kind", inferred))
        slot = spec.get("slot", inferred_slot if kind is EnvKind.TEST_SLOT else None)
        if kind is EnvKind.TEST_SLOT and slot is None:
            self.problem(f"{where}.slot", "missing: a test-slot environment needs its slot number")
        if slot is not None and kind is not EnvKind.TEST_SLOT:
            self.problem(
                f"{where}.slot", f'{slot} is set but kind is {kind.value!r}, not "test-slot"'
            )
        return kind, slot

    def _hosts(
        self,
        where: str,
        spec: Mapping[str, Any],
        fleet: Mapping[str, Any],
        broker_host: str,
        suffix: str,
        zone: str,
        optional: set[str],
    ) -> tuple[Host, ...]:
        env_address = self._address(f"{where}.address", spec.get("address"))
        overrides: Mapping[str, Mapping[str, Any]] = spec.get("hosts", {})
        services = list(spec.get("services", fleet.get("services", DEFAULT_SERVICES)))
        workers = list(spec.get("workers", fleet.get("workers", DEFAULT_WORKERS)))
        plan: list[tuple[str, str, str, str, tuple[str, ...]]] = [
            ("broker", "broker", "broker", broker_host, BROKER_PATHS)
        ]
        plan += [(s, "service", s, service_host(s, suffix, zone), ("/healthz",)) for s in services]
        plan += [
            (w, "worker", f"worker:{w}", service_host(w, suffix, zone), ("/healthz",))
            for w in workers
        ]
        known = {key for key, *_ in plan}
        for key in overrides:
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.problem(
                    f"{where}.hosts.{key}",
                    f"no such service in this environment{hint} "
                    f"(known: {', '.join(sorted(known))})",
                )
        # fleet.optional may name services some environments lack ("may be absent" is its
        # point); an environment's own list must name its own services.
        for name in set(spec.get("optional", ())) - known:
            self.problem(f"{where}.optional", f"{name!r} is not a service of this environment")
        hosts = []
        for key, role, label, hostname, paths in plan:
            o = overrides.get(key, {})
            address = self._address(f"{where}.hosts.{key}.address", o.get("address"))
            hosts.append(
                Host(
                    role=role,
                    label=label,
                    hostname=o.get("hostname", hostname),
                    paths=paths,
                    address=address or env_address,
                    optional=bool(o.get("optional", key in optional)),
                    skip=bool(o.get("skip", False)),
                )
            )
        return tuple(hosts)

    def _address(self, where: str, text: str | None) -> Address | None:
        if text is None:
            return None
        host, _, port_text = text.rpartition(":") if _has_port(text) else (text, "", "")
        host = host.strip("[]")
        port = int(port_text) if port_text else 443
        if not 0 < port < 65536:
            self.problem(where, f"{_show(text)} has port {port}; ports run from 1 to 65535")
        return Address(host=host, port=port)

    def _check_unique(self, envs: tuple[Environment, ...]) -> None:
        def dupes(label: str, key: str, values: Iterable[tuple[str, object]]) -> None:
            seen: dict[object, str] = {}
            for env_name, value in values:
                if value is None:
                    continue
                if value in seen:
                    self.problem(
                        f"environments.{env_name}.{key}",
                        f"{_show(value)} is already the {label} of environments.{seen[value]}",
                    )
                else:
                    seen[value] = env_name

        dupes("slot", "slot", ((e.name, e.slot) for e in envs))
        dupes("broker host", "broker_host", ((e.name, e.broker_host) for e in envs))
        dupes("EIP tag", "eip_tag", ((e.name, e.eip_tag) for e in envs))
        dupes("instance", "instance_id", ((e.name, e.instance_id) for e in envs))
        dupes("EIP", "eip", ((e.name, e.eip) for e in envs))


def _has_port(text: str) -> bool:
    if text.startswith("["):
        return "]:" in text
    if text.count(":") > 1:  # a bare IPv6 address
        return False
    return ":" in text


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True

"""What moto does not simulate about a machine, answered in AWS's own protocol.

moto 5.2 answers `ec2:DescribeInstanceStatus` with every check passed and no scheduled
events, and does not implement `ssm:DescribeInstanceInformation` at all. The demo and the
tests need impaired checks, retirements and lost agents, so a WSGI layer in front of moto's
own app answers those two calls from a small per-instance scenario and passes everything
else to moto untouched:

- DescribeInstanceStatus goes to moto first (so the instances and their states are
  moto's), then the scenario's checks and events replace moto's, and the answer is paged
  as EC2 pages it (moto answers every instance at once).
- DescribeInstanceInformation lists the instances the scenario registered an agent for.
- DescribeInstances goes to moto, then the scenario's launch times replace moto's (moto
  stamps an instance with the moment it was created; the demo's idle slot started hours
  before the demo did).
- GetProducts (the Price List, which moto does not have) answers the built-in table's
  prices, or those set with `set_prices`.
- CloudWatch's, CloudWatch Logs' and Cost Explorer's JSON answers are labelled as AWS
  labels them (moto says `text` or `text/html`), and
  moto's GetMetricData reads an index of its points (demo/metric_index.py) rather than
  scanning them all for every query and step.

Every answer is built as the operation's output shape from botocore's own service model,
checked against that shape by botocore's validator, and written by moto's serializer for
the service's protocol (EC2's query XML, SSM's JSON): the fixtures cannot drift from the
API's shape, and the collector parses them as it parses AWS.

The scenario is set over HTTP, like moto's own API, so a moto in a child process takes it
too; `POST /moto-api/reset` forgets it with everything else:

    POST /fleetboard-api/instances
    {"instances": {"i-0abc": {"instance": "impaired",
      "events": [{"code": "instance-retirement", "not_before": "2026-12-11T00:00:00Z"}],
      "agent": {"ping": "ConnectionLost", "last_ping": "2026-12-04T09:00:00Z"}}}}

`set_hosts(endpoint_url, {instance_id: Host(...)})` sends that. `python -m
fleetboard.demo.aws_extras --port N` serves moto with the layer in a process of its own.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from botocore.model import Shape
from botocore.parsers import create_parser
from botocore.validate import ParamValidator

if TYPE_CHECKING:
    from moto.core.model import OperationModel as MotoOperation

#: Where the scenario is set; moto's own API lives under /moto-api/.
API_PATH = "/fleetboard-api/instances"
PRICES_PATH = "/fleetboard-api/prices"
_RESET_PATH = "/moto-api/reset"

#: The agent version the demo's machines run (any well-formed version would do).
AGENT_VERSION = "3.3.1142.0"

#: A check's detail EC2 names when it fails (the only one EC2 reports today).
_REACHABILITY = "reachability"

#: EC2's own wording for a retirement's cause.
_DEGRADED = "The instance is running on degraded hardware"

#: The JSON-protocol calls answered here, by X-Amz-Target.
_DESCRIBE_AGENTS = "AmazonSSM.DescribeInstanceInformation"
_GET_PRODUCTS = "AWSPriceListService.GetProducts"

#: JSON-protocol services moto labels `text` or `text/html` (by their X-Amz-Target prefix),
#: and the content type AWS labels their answers with: CloudWatch, CloudWatch Logs, Cost
#: Explorer. The collector refuses an answer labelled as a page (a portal's, a proxy's).
_MISLABELLED = {
    "GraniteServiceVersion20100801.": "application/x-amz-json-1.0",
    "Logs_20140328.": "application/x-amz-json-1.1",
    "AWSInsightsIndexService.": "application/x-amz-json-1.1",
}

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True, slots=True)
class Event:
    """A scheduled event on an instance, as EC2 lists it."""

    code: str  # instance-retirement, instance-reboot, system-reboot, system-maintenance, ...
    not_before: datetime
    description: str = _DEGRADED
    not_after: datetime | None = None

    def shape(self, index: int) -> dict[str, Any]:
        event: dict[str, Any] = {
            "InstanceEventId": f"instance-event-{index:017x}",
            "Code": self.code,
            "Description": self.description,
            "NotBefore": self.not_before,
        }
        if self.not_after is not None:
            event["NotAfter"] = self.not_after
        return event


@dataclass(frozen=True, slots=True)
class Agent:
    """An SSM agent registered for an instance."""

    ping: str = "Online"  # Online, ConnectionLost, Inactive
    last_ping: datetime | None = None  # None: now, when asked
    version: str = AGENT_VERSION


@dataclass(frozen=True, slots=True)
class Host:
    """What the scenario says about one instance beyond what moto keeps."""

    system: str = "ok"  # ok, impaired, insufficient-data, initializing, not-applicable
    instance: str = "ok"
    ebs: str | None = None  # None: EC2 says nothing about attached volumes (older types)
    events: tuple[Event, ...] = ()
    agent: Agent | None = field(default_factory=Agent)  # None: not registered with SSM
    launched: datetime | None = None  # when EC2 says it was started; None: moto's own time

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Host:
        agent = doc.get("agent")
        return cls(
            system=str(doc.get("system", "ok")),
            instance=str(doc.get("instance", "ok")),
            ebs=doc.get("ebs"),
            events=tuple(
                Event(
                    code=str(e["code"]),
                    not_before=_time(e["not_before"]),
                    description=str(e.get("description", _DEGRADED)),
                    not_after=_time(e["not_after"]) if e.get("not_after") else None,
                )
                for e in doc.get("events", ())
            ),
            agent=None
            if agent is None
            else Agent(
                ping=str(agent.get("ping", "Online")),
                last_ping=_time(agent["last_ping"]) if agent.get("last_ping") else None,
                version=str(agent.get("version", AGENT_VERSION)),
            ),
            launched=_time(doc["launched"]) if doc.get("launched") else None,
        )

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "system": self.system,
            "instance": self.instance,
            "events": [
                {
                    "code": e.code,
                    "description": e.description,
                    "not_before": e.not_before.isoformat(),
                    **({"not_after": e.not_after.isoformat()} if e.not_after else {}),
                }
                for e in self.events
            ],
            "agent": None,
        }
        if self.ebs is not None:
            doc["ebs"] = self.ebs
        if self.launched is not None:
            doc["launched"] = self.launched.isoformat()
        if self.agent is not None:
            doc["agent"] = {"ping": self.agent.ping, "version": self.agent.version}
            if self.agent.last_ping is not None:
                doc["agent"]["last_ping"] = self.agent.last_ping.isoformat()
        return doc


def _time(text: str) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(UTC)


@dataclass
class Scenario:
    """The hosts the layer answers for, by instance id (thread-safe). An instance it has
    no word on keeps moto's passed checks and has no agent."""

    hosts: dict[str, Host] = field(default_factory=dict)
    #: The Price List's on-demand prices by region and type (USD an hour): by default the
    #: built-in table's; a test sets others to tell the two apart.
    prices: dict[str, dict[str, float]] = field(default_factory=lambda: _table())
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, hosts: Mapping[str, Host]) -> None:
        with self.lock:
            self.hosts.update(hosts)

    def set_prices(self, prices: Mapping[str, Mapping[str, float]]) -> None:
        with self.lock:
            for region, types in prices.items():
                self.prices.setdefault(region, {}).update(types)

    def price(self, region: str, instance_type: str) -> float | None:
        with self.lock:
            return self.prices.get(region, {}).get(instance_type)

    def clear(self) -> None:
        with self.lock:
            self.hosts.clear()
            self.prices = _table()

    def get(self, instance_id: str) -> Host | None:
        with self.lock:
            return self.hosts.get(instance_id)

    def launches(self) -> dict[str, datetime]:
        with self.lock:
            return {i: h.launched for i, h in self.hosts.items() if h.launched is not None}

    def agents(self) -> list[tuple[str, Agent]]:
        with self.lock:
            return [(i, h.agent) for i, h in sorted(self.hosts.items()) if h.agent is not None]


def _table() -> dict[str, dict[str, float]]:
    from fleetboard.sources.prices import TABLE

    return {region: dict(types) for region, types in TABLE.items()}


def set_prices(endpoint_url: str, prices: Mapping[str, Mapping[str, float]]) -> None:
    """Tell the layer's Price List these on-demand prices (region -> type -> USD an hour)."""
    _post(endpoint_url, PRICES_PATH, {"prices": prices})


def set_hosts(endpoint_url: str, hosts: Mapping[str, Host]) -> None:
    """Tell the layer at `endpoint_url` about these instances (by id)."""

    _post(endpoint_url, API_PATH, {"instances": {i: h.to_json() for i, h in hosts.items()}})


def _post(endpoint_url: str, path: str, doc: Mapping[str, Any]) -> None:
    from urllib.request import Request, urlopen

    body = json.dumps(doc).encode()
    request = Request(endpoint_url + path, data=body, method="POST")  # noqa: S310  # loopback
    request.add_header("Content-Type", "application/json")
    with urlopen(request, timeout=10) as answer:  # noqa: S310
        answer.read()


def _operation(service: str, name: str) -> MotoOperation:
    """botocore's model of an operation, as moto loads it (its serializer wants its own
    subclasses of botocore's shapes; the model data is botocore's)."""
    from moto.core.utils import get_service_model  # cached per service

    model: MotoOperation = get_service_model(service).operation_model(name)
    return model


def _output(model: MotoOperation) -> Shape:
    shape = model.output_shape
    if shape is None:  # every operation answered here has an output
        raise ValueError(f"{model.name} has no output shape")
    return shape


def serialize(service: str, operation: str, result: Mapping[str, Any]) -> tuple[bytes, str]:
    """`result` checked against the operation's output shape, written in the service's
    protocol by moto's serializer: (body, content type). Raises ValueError when `result`
    does not fit the shape (a fixture that drifted from the API)."""
    from moto.core.serialize import get_serializer_class

    model = _operation(service, operation)
    report = ParamValidator().validate(dict(result), _output(model))
    # botocore's validator leaves enums to the service: a word AWS never sends is refused here.
    problems = [report.generate_report()] if report.has_errors() else []
    problems += _off_enum(dict(result), _output(model), operation)
    if problems:
        raise ValueError(
            f"{service}:{operation} answer does not fit its shape: {'; '.join(problems)}"
        )
    service_model = model.service_model
    protocol = str(getattr(service_model, "resolved_protocol", None) or service_model.protocol)
    answer = get_serializer_class(service, protocol)(model).serialize(dict(result))
    body = answer["body"]
    content_type = answer["headers"].get("Content-Type") or (
        "application/x-amz-json-1.1" if protocol == "json" else "text/xml"
    )
    return (body.encode() if isinstance(body, str) else bytes(body)), str(content_type)


def _off_enum(value: Any, shape: Shape, path: str) -> list[str]:
    """Every string in `value` that its shape's enum does not list, as "path: 'word'"."""
    enum = getattr(shape, "enum", None)
    if enum and isinstance(value, str) and value not in enum:
        return [f"{path}: {value!r} is not one of {sorted(enum)}"]
    members = getattr(shape, "members", None)
    if isinstance(value, Mapping) and isinstance(members, Mapping):
        return [
            problem
            for key, item in value.items()
            if key in members
            for problem in _off_enum(item, members[key], f"{path}.{key}")
        ]
    member = getattr(shape, "member", None)
    if isinstance(value, list) and member is not None:
        return [p for i, item in enumerate(value) for p in _off_enum(item, member, f"{path}[{i}]")]
    return []


def _status(status: str) -> dict[str, Any]:
    """An InstanceStatusSummary: a failed reachability detail when not ok."""
    passed = status in ("ok", "not-applicable", "initializing", "insufficient-data")
    detail: dict[str, Any] = {
        "Name": _REACHABILITY,
        "Status": "passed" if status == "ok" else ("failed" if not passed else status),
    }
    if not passed:
        detail["ImpairedSince"] = datetime.now(UTC) - timedelta(minutes=42)
    return {"Status": status, "Details": [detail]}


def _with_host(item: dict[str, Any], host: Host) -> dict[str, Any]:
    """An InstanceStatuses item with the scenario's checks (running instances only: EC2
    reports none for others) and events."""
    if item.get("InstanceState", {}).get("Name") == "running":
        item["SystemStatus"] = _status(host.system)
        item["InstanceStatus"] = _status(host.instance)
        if host.ebs is not None:
            item["AttachedEbsStatus"] = _status(host.ebs)
    if host.events:
        item["Events"] = [e.shape(i) for i, e in enumerate(host.events, start=1)]
    return item


def _agent_item(instance_id: str, agent: Agent, now: datetime) -> dict[str, Any]:
    return {
        "InstanceId": instance_id,
        "PingStatus": agent.ping,
        "LastPingDateTime": agent.last_ping or now,
        "AgentVersion": agent.version,
        "IsLatestVersion": agent.version == AGENT_VERSION,
        "PlatformType": "Linux",
        "PlatformName": "Ubuntu",
        "ResourceType": "EC2Instance",
    }


def _check(instance_id: str, host: Host) -> None:
    """Raise ValueError unless both answers `host` would give fit their shapes: a bad
    scenario is refused when it is set, not on every call after."""
    running = {"InstanceId": instance_id, "InstanceState": {"Code": 16, "Name": "running"}}
    serialize("ec2", "DescribeInstanceStatus", {"InstanceStatuses": [_with_host(running, host)]})
    if host.agent is not None:
        item = _agent_item(instance_id, host.agent, datetime.now(UTC))
        serialize("ssm", "DescribeInstanceInformation", {"InstanceInformationList": [item]})


#: DescribeInstanceStatus' page sizes (EC2's API reference).
_EC2_PAGE = range(5, 1001)


class ExtrasLayer:
    """The WSGI app: moto's `app`, with the two calls above answered from `scenario`."""

    def __init__(self, app: WsgiApp, scenario: Scenario | None = None) -> None:
        self.app = app
        self.scenario = scenario or Scenario()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "")
        if path == API_PATH and environ.get("REQUEST_METHOD") == "POST":
            return self._set(environ, start_response)
        if path == PRICES_PATH and environ.get("REQUEST_METHOD") == "POST":
            return self._set_prices(environ, start_response)
        if path == _RESET_PATH:
            self.scenario.clear()
            return self.app(environ, start_response)
        body = _read_body(environ)
        target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
        if target == _DESCRIBE_AGENTS:
            # moto checks the caller's IAM before it finds it has no such call: a denial is
            # its to give, as AWS would.
            denied = self._denial(environ, start_response)
            return denied if denied is not None else self._agents(body, start_response)
        if target == _GET_PRODUCTS:
            # moto has no Price List, so no IAM of it to ask either: answered for any caller.
            return self._products(body, start_response)
        action = _action(environ, body)
        if action == "DescribeInstanceStatus":
            return self._instance_status(environ, body, start_response)
        if action == "DescribeInstances" and self.scenario.launches():
            return self._instances(environ, start_response)
        label = next((t for p, t in _MISLABELLED.items() if target.startswith(p)), None)
        if label is not None:
            return self._json_labelled(environ, start_response, label)
        return self.app(environ, start_response)

    def _denial(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes] | None:
        """moto's answer when it refuses the caller (401, 403), else None."""
        try:
            answer = _call(self.app, environ)
        except Exception:  # moto has no such call (how it says so varies): nothing refused
            return None
        return _relay(start_response, answer) if answer[0].startswith(("401", "403")) else None

    def _set_prices(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        try:
            prices = json.loads(_read_body(environ) or b"{}")["prices"]
            checked = {
                str(region): {str(t): float(p) for t, p in types.items() if float(p) > 0}
                for region, types in prices.items()
            }
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return _answer(start_response, "400 Bad Request", str(exc).encode(), "text/plain")
        self.scenario.set_prices(checked)
        return _answer(start_response, "200 OK", b"{}", "application/json")

    def _products(self, body: bytes, start_response: StartResponse) -> Iterable[bytes]:
        """The Price List's answer for one EC2 instance type in one region, as AWS shapes
        it: each product a JSON document in a string, its hourly on-demand price within."""
        try:
            request = json.loads(body or b"{}")
            wanted = {f["Field"]: f["Value"] for f in request.get("Filters", [])}
            service = request["ServiceCode"]
        except (ValueError, TypeError, KeyError, AttributeError):
            error = b'{"__type":"InvalidParameterException","message":"malformed request"}'
            return _answer(start_response, "400 Bad Request", error, "application/x-amz-json-1.1")
        region, instance_type = wanted.get("regionCode", ""), wanted.get("instanceType", "")
        price = self.scenario.price(region, instance_type) if service == "AmazonEC2" else None
        products = [] if price is None else [_product(region, instance_type, price)]
        result = {"FormatVersion": "aws_v1", "PriceList": products}
        out, content_type = serialize("pricing", "GetProducts", result)
        return _answer(start_response, "200 OK", out, content_type)

    def _json_labelled(
        self, environ: dict[str, Any], start_response: StartResponse, label: str
    ) -> Iterable[bytes]:
        """moto's answer as it gives it, labelled as AWS labels it (`label`): moto sends
        these services' JSON answers as `text` or `text/html`."""
        status, headers, body = _call(self.app, environ)
        labelled = [(k, v) for k, v in headers if k.lower() != "content-type"]
        labelled.append(("Content-Type", label))
        start_response(status, labelled)
        return [body]

    def _set(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            doc = json.loads(_read_body(environ) or b"{}")
            hosts = {str(i): Host.from_json(h) for i, h in doc["instances"].items()}
            for instance_id, host in hosts.items():
                _check(instance_id, host)
            self.scenario.set(hosts)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return _answer(start_response, "400 Bad Request", str(exc).encode(), "text/plain")
        return _answer(start_response, "200 OK", b"{}", "application/json")

    def _instance_status(
        self, environ: dict[str, Any], body: bytes, start_response: StartResponse
    ) -> Iterable[bytes]:
        """moto's answer with the scenario's checks and events, paged as EC2 pages it
        (moto returns every instance at once, whatever MaxResults says)."""
        form = parse_qs(body.decode("utf-8", "replace"))
        try:
            size = int(form.get("MaxResults", ["1000"])[0])
            start = int(form.get("NextToken", ["page:0"])[0].removeprefix("page:"))
        except ValueError:
            size, start = 0, -1
        if size not in _EC2_PAGE or start < 0:
            error = (
                '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error>'
                "<Code>InvalidParameterValue</Code><Message>MaxResults must be 5 to 1000 and "
                "NextToken one this server gave</Message></Error></Errors>"
                "<RequestID>fleetboard-demo</RequestID></Response>"
            )
            return _answer(start_response, "400 Bad Request", error.encode(), "text/xml")
        parsed = self._ec2(environ, "DescribeInstanceStatus")
        if not isinstance(parsed, dict):
            return _relay(start_response, parsed)
        items = parsed.get("InstanceStatuses", [])
        page = items[start : start + size]
        for item in page:
            host = self.scenario.get(str(item.get("InstanceId")))
            if host is not None:
                _with_host(item, host)
        result: dict[str, Any] = {"InstanceStatuses": page}
        if start + size < len(items):
            result["NextToken"] = f"page:{start + size}"
        out, content_type = serialize("ec2", "DescribeInstanceStatus", result)
        return _answer(start_response, "200 OK", out, content_type)

    def _instances(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """moto's answer with the scenario's launch times (moto's are when it made them)."""
        parsed = self._ec2(environ, "DescribeInstances")
        if not isinstance(parsed, dict):
            return _relay(start_response, parsed)
        launches = self.scenario.launches()
        for reservation in parsed.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                launched = launches.get(str(instance.get("InstanceId")))
                if launched is not None:
                    instance["LaunchTime"] = launched
        out, content_type = serialize("ec2", "DescribeInstances", parsed)
        return _answer(start_response, "200 OK", out, content_type)

    def _ec2(self, environ: dict[str, Any], operation: str) -> dict[str, Any] | _Answer:
        """moto's answer to an EC2 call, parsed as boto3 parses it (to be changed and written
        again); or, when moto refused it, moto's answer as it gave it."""
        status, headers, answer = _call(self.app, environ)
        if not status.startswith("200"):
            return status, headers, answer
        parsed: dict[str, Any] = create_parser("ec2").parse(
            {"body": answer, "headers": dict(headers), "status_code": 200},
            _output(_operation("ec2", operation)),
        )
        parsed.pop("ResponseMetadata", None)
        return parsed

    def _agents(self, body: bytes, start_response: StartResponse) -> Iterable[bytes]:
        try:
            request = json.loads(body or b"{}")
            size = int(request.get("MaxResults") or 50)
            start = int(request.get("NextToken") or 0)
        except (ValueError, TypeError, AttributeError):
            error = b'{"__type":"ValidationException","message":"malformed request"}'
            return _answer(start_response, "400 Bad Request", error, "application/x-amz-json-1.1")
        agents = self.scenario.agents()
        page = agents[start : start + size]
        now = datetime.now(UTC)
        result: dict[str, Any] = {
            "InstanceInformationList": [_agent_item(i, agent, now) for i, agent in page]
        }
        if start + size < len(agents):
            result["NextToken"] = str(start + size)
        out, content_type = serialize("ssm", "DescribeInstanceInformation", result)
        return _answer(start_response, "200 OK", out, content_type)


def _product(region: str, instance_type: str, price: float) -> str:
    """One Price List product as AWS writes it (a JSON document, kept as a string)."""
    sku = f"FLEETBOARD{abs(hash((region, instance_type))) % 10**8:08d}"
    term = f"{sku}.JRTCKXETXF"
    return json.dumps(
        {
            "product": {
                "productFamily": "Compute Instance",
                "attributes": {
                    "instanceType": instance_type,
                    "regionCode": region,
                    "operatingSystem": "Linux",
                    "tenancy": "Shared",
                    "preInstalledSw": "NA",
                    "capacitystatus": "Used",
                },
                "sku": sku,
            },
            "serviceCode": "AmazonEC2",
            "terms": {
                "OnDemand": {
                    term: {
                        "priceDimensions": {
                            f"{term}.6YS6EN2CT7": {
                                "unit": "Hrs",
                                "pricePerUnit": {"USD": f"{price:.10f}"},
                                "description": f"${price} per On Demand Linux {instance_type}",
                            }
                        },
                        "sku": sku,
                        "offerTermCode": "JRTCKXETXF",
                    }
                }
            },
        }
    )


def _read_body(environ: dict[str, Any]) -> bytes:
    """The request body, read once and put back for the app behind."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    body = stream.read(length) if stream is not None and length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return bytes(body)


def _action(environ: dict[str, Any], body: bytes) -> str | None:
    """A query-protocol request's Action, from the form body or the query string."""
    for text in (body.decode("utf-8", "replace"), str(environ.get("QUERY_STRING") or "")):
        found = parse_qs(text).get("Action")
        if found:
            return found[0]
    return None


#: An answer as a WSGI app gave it: status, headers, body.
_Answer = tuple[str, list[tuple[str, str]], bytes]


def _relay(start_response: StartResponse, answer: _Answer) -> Iterable[bytes]:
    status, headers, body = answer
    start_response(status, headers)
    return [body]


def _call(app: WsgiApp, environ: dict[str, Any]) -> _Answer:
    got: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
        got["status"], got["headers"] = status, headers

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return str(got.get("status", "500")), list(got.get("headers", [])), body


def _answer(
    start_response: StartResponse, status: str, body: bytes, content_type: str
) -> Iterable[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def make_app() -> ExtrasLayer:
    """moto's whole server app behind the layer, its GetMetricData indexed (a fleet of
    hundreds of instances otherwise waits on moto's scan, not on the collector)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from fleetboard.demo import metric_index

    metric_index.install()
    return ExtrasLayer(DomainDispatcherApplication(create_backend_app))


def main(argv: list[str] | None = None) -> None:
    """Serve moto with the layer on 127.0.0.1 until killed (the bench's AWS process)."""
    import argparse

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    parser = argparse.ArgumentParser(prog="python -m fleetboard.demo.aws_extras")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    server = make_server(
        "127.0.0.1", args.port, make_app(), threaded=True, request_handler=MotoRequestHandler
    )
    server.serve_forever()


if __name__ == "__main__":
    main()

"""How each fault of the matrix looks on the wire, per source, and `stage`, which sets the
fault servers up for one cell.

A fault that is an answer of the service is spelled in the service's own protocol: EC2's
XML errors, SSM's and CloudWatch's JSON errors, GitHub's JSON and rate-limit headers,
JSON-RPC; a fault below HTTP (refused, silent, DNS, and the TLS layer's) is a port, a name
or a FaultServer mode.

The host, agent and metrics sources are one AWS call each on the endpoint every AWS source
shares: their cells split that call off to the fault server (`SPLIT_CALLS`) and answer it
as EC2 (XML), SSM or CloudWatch (JSON) would. They have no "refused" or "dns" cell: those
faults break an endpoint before any call is named (servers.SplitRelay says why); the aws
cells break every call at once, and there the host, agent and metrics checks are asserted
unknown too.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

from tests.integration.faults.conftest import FAULTY, Rig, Wiring
from tests.integration.faults.servers import (
    SILENT,
    Behaviour,
    FaultServer,
    answer,
    flood,
    raw,
    refused_address,
    relay_slow,
    trickle,
)

HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head>"
    "<body><h1>Welcome to nginx!</h1><p>If you see this page, the web server works.</p>"
    "</body></html>"
)
EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
XML = "text/xml;charset=UTF-8"
JSON = "application/json; charset=utf-8"
AMZ_JSON = "application/x-amz-json-1.1"  # SSM's JSON protocol
AMZ_JSON_1_0 = "application/x-amz-json-1.0"  # CloudWatch's JSON protocol
AMZ_REQUEST_ID = ("x-amzn-RequestId", "5b8f4e1c-0d6a-4a8e-9a31-2f7cEXAMPLE")

#: The sources that are one AWS call each, and that call (as IAM spells it).
SPLIT_CALLS = {
    "host": "ec2:DescribeInstanceStatus",
    "agent": "ssm:DescribeInstanceInformation",
    "metrics": "cloudwatch:GetMetricData",
}
DESCRIBE_STATUS, DESCRIBE_INFORMATION = SPLIT_CALLS["host"], SPLIT_CALLS["agent"]
GET_METRIC_DATA = SPLIT_CALLS["metrics"]
#: The logs source's one call. Split off like the machine sources' calls, but not one of
#: them: its failure is one environment's tail, never a check (test_fault_matrix.py).
FILTER_LOG_EVENTS = "logs:FilterLogEvents"
AMZ_JSON_1_1 = AMZ_JSON  # CloudWatch Logs' JSON protocol, as SSM's
#: The billing source's one call (ce:GetCostAndUsage). Cost Explorer has an endpoint of its
#: own, so its cells break that endpoint alone (Wiring.ce_url), every fault included.
GET_COST_AND_USAGE = "ce:GetCostAndUsage"
#: A month of Cost Explorer's, grouped by the Name tag: what a healthy endpoint answers.
CE_MONTH = json.dumps(
    {
        "GroupDefinitions": [{"Type": "TAG", "Key": "Name"}],
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": "2026-12-01", "End": "2026-12-04"},
                "Total": {},
                "Groups": [
                    {
                        "Keys": ["Name$agentkeys-broker-eip"],
                        "Metrics": {"UnblendedCost": {"Amount": "3.6", "Unit": "USD"}},
                    },
                    {
                        "Keys": ["Name$agentkeys-broker"],
                        "Metrics": {"UnblendedCost": {"Amount": "22.15", "Unit": "USD"}},
                    },
                ],
                "Estimated": True,
            }
        ],
        "DimensionValueAttributes": [],
    }
)


def _aws_error(code: str, message: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error>"
        "</Errors><RequestID>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestID></Response>"
    )


def _amz_json(status: int, body: str) -> Behaviour:
    """An answer in AWS's JSON 1.1 protocol (SSM, Cost Explorer, CloudWatch Logs)."""
    return answer(status, body, AMZ_JSON_1_1, AMZ_REQUEST_ID)


def _amz_json_error(status: int, code: str, message: str, *, key: str = "Message") -> Behaviour:
    """An error as AWS's JSON 1.1 protocol spells it (SSM's and Cost Explorer's models name
    its message Message)."""
    return _amz_json(status, json.dumps({"__type": code, key: message}))


def _logs_error(status: int, code: str, message: str) -> Behaviour:
    """An error as CloudWatch Logs spells it: JSON 1.1, its model naming the message
    `message`."""
    return _amz_json_error(status, code, message, key="message")


def _cloudwatch_error(
    status: int, shape: str, query_code: str, fault: str, message: str, *, key: str = "message"
) -> Behaviour:
    """An error as CloudWatch's JSON protocol spells it. CloudWatch was a query-protocol
    service (awsQueryCompatible in its model): its JSON errors carry the error's shape in
    `__type` and the query-era code in `x-amzn-query-error` ("<code>;<Sender|Receiver>"),
    which botocore reads as the error's code. Its model spells the message `message` on
    most errors and `Message` on InternalServiceFault."""
    body = json.dumps({"__type": shape, key: message})
    query_error = ("x-amzn-query-error", f"{query_code};{fault}")
    return answer(status, body, AMZ_JSON_1_0, query_error, AMZ_REQUEST_ID)


def _rate_headers(remaining: int) -> tuple[tuple[str, str], ...]:
    reset = int(time.time()) + 1800
    return (
        ("X-RateLimit-Limit", "5000"),
        ("X-RateLimit-Remaining", str(remaining)),
        ("X-RateLimit-Reset", str(reset)),
        ("X-RateLimit-Used", "5000"),
        ("X-RateLimit-Resource", "core"),
    )


#: "oversized" for a call the relay splits off: 24 MB, past the 16 MB the aws sources parse,
#: and half the aws cell's, since every byte crosses the relay too.
SPLIT_FLOOD = 24 << 20
#: "wrong-content" for every far end but GitHub: nginx's welcome page, a web server where the
#: service should be.
NGINX_WELCOME = answer(200, HTML_PAGE, "text/html")

#: The far end's answer per (whose, fault), for faults that are an answer: whose is a source
#: (aws, github, chain), one AWS call the relay splits off, or the web host FAULTY.
ANSWERS: dict[tuple[str, str], Behaviour] = {
    ("aws", "trickle"): trickle(
        f'<?xml version="1.0" encoding="UTF-8"?><Describe xmlns="{EC2_NS}">', XML
    ),
    ("aws", "500"): answer(500, _aws_error("InternalError", "An internal error occurred"), XML),
    ("aws", "wrong-content"): NGINX_WELCOME,
    # Well-formed, the service's content type, but another API's answer: S3's bucket list.
    ("aws", "wrong-shape"): answer(
        200,
        '<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult '
        'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>x</ID></Owner><Buckets/>'
        "</ListAllMyBucketsResult>",
        XML,
    ),
    ("aws", "malformed"): answer(
        200,
        f'<?xml version="1.0" encoding="UTF-8"?><DescribeAddressesResponse xmlns="{EC2_NS}">'
        "<requestId>x</requestId><addressesSet><item><publicIp>3.214.",
        XML,
    ),
    ("aws", "oversized"): flood(
        XML, 48 << 20, f'<?xml version="1.0"?><DescribeAddressesResponse xmlns="{EC2_NS}">'.encode()
    ),
    ("aws", "throttled"): answer(400, _aws_error("Throttling", "Rate exceeded"), XML),
    ("github", "trickle"): trickle('{"total_count": 1, "workflow_runs": [', JSON),
    ("github", "500"): answer(500, '{"message": "Server Error"}', JSON),
    ("github", "wrong-content"): answer(200, HTML_PAGE, "text/html; charset=utf-8"),
    ("github", "wrong-shape"): answer(200, '{"message": "ok", "data": []}', JSON),
    ("github", "malformed"): answer(200, '{"total_count": 1, "workflow_runs": [{"id": 1', JSON),
    ("github", "oversized"): flood(
        JSON, 48 << 20, b'{"total_count": 0, "workflow_runs": [], "x": "'
    ),
    ("github", "throttled"): answer(
        403,
        '{"message": "API rate limit exceeded for user ID 1.", '
        '"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}',
        JSON,
        *_rate_headers(0),
    ),
    ("github", "throttled-429"): answer(
        429,
        '{"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}',
        JSON,
        ("Retry-After", "60"),
        *_rate_headers(0),
    ),
    ("chain", "trickle"): trickle('[{"jsonrpc": "2.0", "id": 0, "result": "0x', JSON),
    ("chain", "500"): answer(500, "upstream unavailable", "text/plain"),
    ("chain", "wrong-content"): NGINX_WELCOME,
    # A batch answer that answers none of the batch's requests.
    ("chain", "wrong-shape"): answer(200, '[{"jsonrpc": "2.0", "id": 999, "result": "0x0"}]', JSON),
    ("chain", "malformed"): answer(200, '[{"jsonrpc": "2.0", "id": 0, "result": "0x33c', JSON),
    ("chain", "oversized"): flood(JSON, 48 << 20, b'[{"jsonrpc": "2.0", "id": 0, "result": "0x'),
    ("chain", "throttled"): answer(
        429,
        '{"jsonrpc": "2.0", "id": null, "error": {"code": -32005, "message": "rate limit exceeded"}}',
        JSON,
        ("Retry-After", "1"),
    ),
    # ec2:DescribeInstanceStatus alone (the host source), in EC2's XML.
    (DESCRIBE_STATUS, "trickle"): trickle(
        f'<?xml version="1.0" encoding="UTF-8"?><DescribeInstanceStatusResponse xmlns="{EC2_NS}">',
        XML,
    ),
    (DESCRIBE_STATUS, "500"): answer(
        500, _aws_error("InternalError", "An internal error has occurred"), XML
    ),
    (DESCRIBE_STATUS, "wrong-content"): NGINX_WELCOME,
    # EC2's answer, well-formed, to another call: a cache or proxy that mixed two up.
    (DESCRIBE_STATUS, "wrong-shape"): answer(
        200,
        f'<?xml version="1.0" encoding="UTF-8"?><DescribeAddressesResponse xmlns="{EC2_NS}">'
        "<requestId>x</requestId><addressesSet/></DescribeAddressesResponse>",
        XML,
    ),
    # The right answer, cut off mid-item.
    (DESCRIBE_STATUS, "malformed"): answer(
        200,
        f'<?xml version="1.0" encoding="UTF-8"?><DescribeInstanceStatusResponse xmlns="{EC2_NS}">'
        "<requestId>x</requestId><instanceStatusSet><item><instanceId>i-0abc",
        XML,
    ),
    (DESCRIBE_STATUS, "oversized"): flood(
        XML,
        SPLIT_FLOOD,
        f'<?xml version="1.0"?><DescribeInstanceStatusResponse xmlns="{EC2_NS}">'.encode(),
    ),
    # EC2's own throttling: RequestLimitExceeded, answered 503.
    (DESCRIBE_STATUS, "throttled"): answer(
        503, _aws_error("RequestLimitExceeded", "Request limit exceeded."), XML
    ),
    # ssm:DescribeInstanceInformation alone (the agent source), in SSM's JSON.
    (DESCRIBE_INFORMATION, "trickle"): trickle(
        '{"InstanceInformationList": [{"InstanceId": "i-0', AMZ_JSON
    ),
    (DESCRIBE_INFORMATION, "500"): _amz_json_error(
        500, "InternalServerError", "An error occurred on the server side."
    ),
    (DESCRIBE_INFORMATION, "wrong-content"): NGINX_WELCOME,
    # SSM's answer, well-formed, to another call (ListCommands').
    (DESCRIBE_INFORMATION, "wrong-shape"): _amz_json(200, '{"Commands": []}'),
    (DESCRIBE_INFORMATION, "malformed"): _amz_json(
        200, '{"InstanceInformationList": [{"InstanceId": "i-0abc", "PingStatus": "Onl'
    ),
    (DESCRIBE_INFORMATION, "oversized"): flood(
        AMZ_JSON, SPLIT_FLOOD, b'{"InstanceInformationList": [], "x": "'
    ),
    (DESCRIBE_INFORMATION, "throttled"): _amz_json_error(
        400, "ThrottlingException", "Rate exceeded"
    ),
    # cloudwatch:GetMetricData alone (the metrics source), in CloudWatch's JSON (botocore
    # speaks JSON 1.0 to it: X-Amz-Target GraniteServiceVersion20100801.GetMetricData).
    (GET_METRIC_DATA, "trickle"): trickle(
        '{"MetricDataResults": [{"Id": "cpu0", "Label": "CPUUtilization", "Values": [', AMZ_JSON_1_0
    ),
    # InternalServiceFault: the model's 500 (query code InternalServiceError).
    (GET_METRIC_DATA, "500"): _cloudwatch_error(
        500,
        "com.amazonaws.cloudwatch#InternalServiceFault",
        "InternalServiceError",
        "Receiver",
        "Request processing has failed due to some unknown error, exception or failure.",
        key="Message",
    ),
    (GET_METRIC_DATA, "wrong-content"): NGINX_WELCOME,
    # CloudWatch's answer, well-formed, to another call (ListMetrics').
    (GET_METRIC_DATA, "wrong-shape"): answer(200, '{"Metrics": []}', AMZ_JSON_1_0, AMZ_REQUEST_ID),
    # The right answer, cut off mid-figure.
    (GET_METRIC_DATA, "malformed"): answer(
        200,
        '{"MetricDataResults": [{"Id": "cpu0", "Label": "CPUUtilization", "Values": [31.',
        AMZ_JSON_1_0,
        AMZ_REQUEST_ID,
    ),
    (GET_METRIC_DATA, "oversized"): flood(
        AMZ_JSON_1_0, SPLIT_FLOOD, b'{"MetricDataResults": [], "x": "'
    ),
    # CloudWatch's throttling: the query-era code Throttling ("Rate exceeded", 400), sent in
    # x-amzn-query-error. botocore's CloudWatch model declares no throttling error (its
    # GetMetricData lists only InvalidNextToken), so the JSON type is the generic one.
    (GET_METRIC_DATA, "throttled"): _cloudwatch_error(
        400, "ThrottlingException", "Throttling", "Sender", "Rate exceeded"
    ),
    # ce:GetCostAndUsage (the billing source), in Cost Explorer's JSON 1.1.
    (GET_COST_AND_USAGE, "trickle"): trickle('{"ResultsByTime": [{"Groups": [', AMZ_JSON),
    (GET_COST_AND_USAGE, "500"): _amz_json_error(
        500, "InternalServerError", "An internal error has occurred"
    ),
    (GET_COST_AND_USAGE, "wrong-content"): NGINX_WELCOME,
    # Cost Explorer's answer, well-formed, to another call (GetDimensionValues').
    (GET_COST_AND_USAGE, "wrong-shape"): _amz_json(
        200, '{"DimensionValues": [], "ReturnSize": 0, "TotalSize": 0}'
    ),
    # The right answer, cut off mid-amount.
    (GET_COST_AND_USAGE, "malformed"): _amz_json(200, CE_MONTH[: CE_MONTH.index('"22.15"') + 4]),
    (GET_COST_AND_USAGE, "oversized"): flood(
        AMZ_JSON, SPLIT_FLOOD, b'{"ResultsByTime": [], "x": "'
    ),
    # Cost Explorer's throttling: LimitExceededException, 400.
    (GET_COST_AND_USAGE, "throttled"): _amz_json_error(
        400, "LimitExceededException", "You have exceeded the rate limit"
    ),
    (GET_COST_AND_USAGE, "healthy"): _amz_json(200, CE_MONTH),
    # logs:FilterLogEvents alone (the logs source), in CloudWatch Logs' JSON 1.1.
    (FILTER_LOG_EVENTS, "trickle"): trickle(
        '{"events": [{"logStreamName": "broker", "timestamp": 1', AMZ_JSON_1_1
    ),
    (FILTER_LOG_EVENTS, "500"): _logs_error(
        500, "ServiceUnavailableException", "The service cannot complete the request."
    ),
    (FILTER_LOG_EVENTS, "wrong-content"): NGINX_WELCOME,
    # CloudWatch Logs' answer, well-formed, to another call (DescribeLogGroups').
    (FILTER_LOG_EVENTS, "wrong-shape"): _amz_json(200, '{"logGroups": []}'),
    # The right answer, cut off mid-event.
    (FILTER_LOG_EVENTS, "malformed"): _amz_json(
        200, '{"events": [{"logStreamName": "broker", "timestamp": 1764489600000, "message": "ERR'
    ),
    (FILTER_LOG_EVENTS, "oversized"): flood(AMZ_JSON_1_1, SPLIT_FLOOD, b'{"events": [], "x": "'),
    (FILTER_LOG_EVENTS, "throttled"): _logs_error(400, "ThrottlingException", "Rate exceeded"),
    # The host faulty.fleet.test, over TLS with a good certificate unless said otherwise.
    (FAULTY, "trickle"): trickle('{"ok": true}', JSON),
    (FAULTY, "500"): answer(500, "internal error", "text/plain"),
    (FAULTY, "wrong-content"): NGINX_WELCOME,
    (FAULTY, "wrong-shape"): answer(200, '[{"ok": true}]', JSON),  # an array is no health
    (FAULTY, "malformed"): answer(200, '{"ok": tru', JSON),
    (FAULTY, "oversized"): flood(JSON, 8 << 20, b'{"ok": true, "pad": "'),
    (FAULTY, "throttled"): answer(429, "Too Many Requests", "text/plain", ("Retry-After", "30")),
}

#: Names that cannot resolve anywhere (RFC 6761), for the sources that resolve themselves.
UNRESOLVABLE = {
    "aws": "http://ec2.fault-matrix.invalid:4566",
    "billing": "http://ce.fault-matrix.invalid:4566",
    "github": "http://api.fault-matrix.invalid",
    "chain": "http://rpc.fault-matrix.invalid:8545",
}
HEALTHY_HOST = answer(200, '{"ok": true}', JSON)


def service_fault(source: str, fault: str, server: FaultServer, path: str | None = None) -> str:
    """Make `server` answer as `source`'s far end does under `fault` (aws, github, chain);
    return the URL the source must use. `path` (with a query, if any) is kept in the URL;
    by default "/" for the RPC and nothing for the others (GitHub's base URL has no slash)."""
    if path is None:
        path = "/" if source == "chain" else ""
    if fault == "refused":
        return f"http://{refused_address()}{path}"
    if fault == "dns":
        return UNRESOLVABLE[source] + path
    server.behave(SILENT if fault == "silent" else ANSWERS[(source, fault)])
    return server.url + path


def host_fault(fault: str, tls: FaultServer, healthy_address: str) -> str | None:
    """Make the TLS server answer as a misbehaving host's web server does under `fault`;
    return the address faulty.fleet.test must be reached at (None: resolve its name)."""
    if fault == "refused":
        return refused_address()
    if fault in ("dns", "dns-hang"):
        return None  # resolved, and not in the zone (or never answered)
    tls.behave(SILENT if fault == "silent" else ANSWERS[(FAULTY, fault)])
    return healthy_address


def _tls_layer(fault: str, rig: Rig) -> Behaviour | None:
    """A fault below HTTP, served by the plain server in faulty.fleet.test's place."""
    if fault == "silent":  # TCP accepted, the ClientHello never answered
        return SILENT
    if fault == "trickle":  # the real handshake, relayed one byte a second
        return relay_slow(("127.0.0.1", rig.tls.port))
    if fault == "malformed":  # not TLS at all: nginx's answer to TLS on a plain port
        return raw(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\n\r\n"
            "<html>The plain HTTP request was sent to HTTPS port</html>"
        )
    return None


#: Faults of the TLS layer that are a certificate the good TLS server presents instead.
CERTIFICATES = {
    "wrong-content": "other-name",  # issued to someone-else.example
    "oversized": "huge-chain",  # a chain three times what a client accepts
}


def stage(rig: Rig, source: str, fault: str) -> Wiring:
    """Set the fault servers up for one cell; return where each source must look."""
    wiring = rig.healthy()
    rig.tls.behave(HEALTHY_HOST)
    rig.plain.behave(Behaviour())
    if source in SPLIT_CALLS or source == "logs":
        call = SPLIT_CALLS.get(source, FILTER_LOG_EVENTS)
        rig.plain.behave(SILENT if fault == "silent" else ANSWERS[(call, fault)])
        # [logs] only in its own cells: everywhere else the board is the baseline's.
        logs = source == "logs"
        return replace(wiring, aws_url=rig.relay.url, split_call=call, logs=logs)
    if source == "billing":  # Cost Explorer's endpoint alone; "healthy": it answers a month
        if fault in ("refused", "dns"):
            return replace(wiring, ce_url=service_fault(source, fault, rig.plain))
        rig.plain.behave(SILENT if fault == "silent" else ANSWERS[(GET_COST_AND_USAGE, fault)])
        return replace(wiring, ce_url=rig.plain.url)
    if source in ("aws", "github", "chain"):
        url = service_fault(source, fault, rig.plain)
        if source == "aws":
            return replace(wiring, aws_url=url)
        if source == "github":
            return replace(wiring, github_url=url)
        return replace(wiring, rpc_url=url)
    if source == "tls":
        below_http = _tls_layer(fault, rig)
        if below_http is not None:
            rig.plain.behave(below_http)
            return replace(wiring, faulty_address=rig.plain.address)
        if fault in CERTIFICATES:
            rig.tls.behave(replace(HEALTHY_HOST, cert=CERTIFICATES[fault]))
            return wiring
    address = host_fault(fault, rig.tls, rig.tls.address)
    return replace(wiring, faulty_address=address, dns_hangs=fault == "dns-hang")

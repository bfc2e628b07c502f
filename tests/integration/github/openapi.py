"""Holds the fake GitHub's answers to GitHub's published OpenAPI description.

Each endpoint's documented 200 schema (and GitHub's `basic-error` for error answers) is
wrapped as `{"$ref": "#/x", "x": schema, "components": ...}` and checked with
openapi-schema-validator's OAS30Validator, formats included (the description is OpenAPI 3.0.3).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

from fleetboard.demo.github import OPENAPI_PATHS, Endpoint, Fault, Sent


def _null_in_nullable_enums(node: Any) -> int:
    """Add None to every enum of a `nullable: true` schema; return how many were changed.

    GitHub's description marks e.g. a job's `conclusion` `nullable` with an enum that lacks
    null. OAS 3.0.3 (as openapi-schema-validator reads it) then rejects null, yet GitHub
    sends `"conclusion": null` for every job still running. Only this is relaxed.
    """
    changed = 0
    if isinstance(node, dict):
        enum = node.get("enum")
        if node.get("nullable") is True and isinstance(enum, list) and None not in enum:
            enum.append(None)
            changed += 1
        for value in node.values():
            changed += _null_in_nullable_enums(value)
    elif isinstance(node, list):
        for value in node:
            changed += _null_in_nullable_enums(value)
    return changed


class OpenApiCheck:
    """Validates the fake server's answers against GitHub's OpenAPI description."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from openapi_schema_validator import OAS30Validator, oas30_format_checker

        if not str(spec.get("openapi", "")).startswith("3.0"):
            raise RuntimeError(f"expected an OpenAPI 3.0 description, got {spec.get('openapi')}")
        self.version = str(spec["info"]["version"])
        self.patched_enums = _null_in_nullable_enums(spec["components"])
        self._validators: dict[tuple[Endpoint, int], Any] = {}
        for endpoint, path in OPENAPI_PATHS.items():
            responses = spec["paths"][path]["get"]["responses"]
            for status in (200, 401, 403, 404, 500):
                schema = _response_schema(spec, responses, status)
                self._validators[(endpoint, status)] = OAS30Validator(
                    {"$ref": "#/x", "x": schema, "components": spec["components"]},
                    format_checker=oas30_format_checker,
                )
        self._lock = threading.Lock()
        self.errors: list[str] = []
        self.checked: Counter[tuple[Endpoint | None, int]] = Counter()
        self.unchecked: Counter[str] = Counter()

    def problems(self, endpoint: Endpoint, status: int, body: Any) -> list[str]:
        """Every way `body` breaks the schema of `endpoint`'s answer with `status`."""
        validator = self._validators[(endpoint, status)]
        return [
            f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}"
            for e in validator.iter_errors(body)
        ]

    def __call__(self, sent: Sent) -> None:
        """The server's observer: runs in the server's handler thread, before sending."""
        found: list[str] = []
        if sent.status == 0:
            kind = "black hole (nothing sent)"
        elif sent.fault is Fault.MALFORMED:
            kind = "malformed on purpose"
        elif sent.status == 304:
            kind = ""
            if sent.body:
                found.append("a 304 carried a body")
        elif sent.endpoint is None or (sent.endpoint, sent.status) not in self._validators:
            kind = ""
            found.append(f"no schema for {sent.status} from {sent.path}")
        else:
            kind = ""
            try:
                body = json.loads(sent.body)
            except ValueError as exc:
                found.append(f"not JSON: {exc}")
            else:
                found += self.problems(sent.endpoint, sent.status, body)
        with self._lock:
            if kind:
                self.unchecked[kind] += 1
            else:
                self.checked[(sent.endpoint, sent.status)] += 1
            self.errors += [f"GET {sent.path} ({sent.status}) {problem}" for problem in found]

    def take_errors(self) -> list[str]:
        with self._lock:
            errors, self.errors = self.errors, []
        return errors


def _response_schema(spec: dict[str, Any], responses: dict[str, Any], status: int) -> Any:
    """The operation's documented schema for `status`; GitHub's `basic-error` for error
    answers an operation does not document (list-workflow-runs documents only 200)."""
    response = responses.get(str(status))
    if response is not None and "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[-1]
        response = spec["components"]["responses"][name]
    content = (response or {}).get("content", {}).get("application/json")
    if content is None:
        return {"$ref": "#/components/schemas/basic-error"}
    return content["schema"]

"""A JSON-RPC proxy on 127.0.0.1 in front of anvil: it counts the HTTP requests a pass makes
and can break the answers the way real RPC endpoints do (HTTP 500, not JSON, error objects,
no answer at all). It accepts any path, so a URL can carry a fake API key like hosted RPCs."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable
from typing import Any

import urllib3

#: Rewrites the node's batch answer (list of responses) given the batch request.
Rewrite = Callable[[list[dict[str, Any]], list[dict[str, Any]]], Any]


class RpcProxy(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.requests = 0
        self.paths: list[str] = []
        self.status = 200  # anything else: answered with that status and a short body
        self.raw: bytes | None = None  # answered verbatim instead of forwarding
        self.hang = threading.Event()  # set: read the request, never answer until released
        self.release = threading.Event()
        self.rewrite: Rewrite | None = None
        self._http = urllib3.PoolManager()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def __enter__(self) -> RpcProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: RpcProxy

    def do_POST(self) -> None:
        proxy = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        proxy.requests += 1
        proxy.paths.append(self.path)
        if proxy.hang.is_set():
            proxy.release.wait(30)
            return
        if proxy.status != 200:
            self._answer(proxy.status, b"upstream unavailable", "text/plain")
            return
        if proxy.raw is not None:
            self._answer(200, proxy.raw, "application/json")
            return
        upstream = proxy._http.request(
            "POST",
            proxy.upstream,
            body=body,
            headers={"Content-Type": "application/json"},
            retries=False,
        )
        data = upstream.data
        if proxy.rewrite is not None:
            data = json.dumps(proxy.rewrite(json.loads(body), json.loads(data))).encode()
        self._answer(upstream.status, data, "application/json")

    def _answer(self, status: int, data: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

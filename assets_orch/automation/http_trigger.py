"""The HTTP trigger: ``POST /trigger`` queues a run in the daemon.

Security, in order of importance:

- every request needs ``Authorization: Bearer <token>``; the token comes from an
  environment variable named in ``[daemon] http_token_env`` and is compared in
  constant time (:func:`hmac.compare_digest`); without a token set, the server refuses
  to start; a missing or wrong token gets ``401`` and queues nothing;
- it binds to ``127.0.0.1`` unless another host is given explicitly;
- bodies are small JSON documents (at most 64 KiB), sockets time out, the queue is
  bounded (``429`` when full); errors never echo the token.

Request body: ``{"selection": ["orders_daily+"], "stale": true}`` (both optional:
every asset, stale only). Answers ``202 {"queued": true, "request_id": ...}``.
"""

from __future__ import annotations

import hmac
import json
import queue
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..errors import AssetsError, AutomationError

MAX_BODY = 64 * 1024
MAX_QUEUED = 100
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class TriggerRequest:
    """A run asked for over HTTP."""

    request_id: str
    selection: tuple[str, ...]
    stale: bool
    client: str


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``PORT`` -> (host, port); the host defaults to 127.0.0.1.

    >>> parse_address("8321"), parse_address("127.0.0.1:0"), parse_address("[::1]:80")
    (('127.0.0.1', 8321), ('127.0.0.1', 0), ('::1', 80))
    """
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise AutomationError(
            f"'{text}' is not an address to listen on", hint="write HOST:PORT, e.g. 127.0.0.1:8321"
        )
    return host, number


class TriggerServer:
    """A small threaded HTTP server in the background; requests go to a queue.

    ``validate`` checks a selection before it is queued (raise an AssetsError to answer
    400 with its message).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        token: str,
        validate: Callable[[tuple[str, ...]], None] | None = None,
        on_request: Callable[[TriggerRequest], None] | None = None,
    ) -> None:
        if not token:
            raise AutomationError("the HTTP trigger needs a token")
        self.requests: queue.Queue[TriggerRequest] = queue.Queue(MAX_QUEUED)
        self._token = token.encode()
        self._validate = validate
        self._on_request = on_request
        server_class = _V6Server if ":" in host else ThreadingHTTPServer
        try:
            self._server = server_class((host, port), _handler_for(self))
        except OSError as e:
            raise AutomationError(
                f"cannot listen on {host}:{port}: {e.strerror}",
                hint="choose another port, or stop the process using it",
            ) from e
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}/trigger"

    def start(self) -> TriggerServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def authorized(self, header: str | None) -> bool:
        """Constant-time check of an ``Authorization: Bearer ...`` header."""
        scheme, _, given = (header or "").partition(" ")
        if scheme.lower() != "bearer":
            # Compare anyway, so a missing header costs the same as a wrong one.
            hmac.compare_digest(b"", self._token)
            return False
        return hmac.compare_digest(given.strip().encode(), self._token)

    def submit(self, body: dict[str, Any], client: str) -> TriggerRequest:
        selection = body.get("selection", [])
        if isinstance(selection, str):
            selection = selection.split()
        if not isinstance(selection, list) or not all(isinstance(s, str) for s in selection):
            raise ValueError("'selection' is a list of selection expressions")
        stale = body.get("stale", True)
        if not isinstance(stale, bool):
            raise ValueError("'stale' is true or false")
        unknown = sorted(set(body) - {"selection", "stale"})
        if unknown:
            raise ValueError(f"unknown keys {unknown}; known: selection, stale")
        if self._validate:
            self._validate(tuple(selection))
        request = TriggerRequest(uuid.uuid4().hex[:12], tuple(selection), stale, client)
        self.requests.put_nowait(request)
        if self._on_request:
            self._on_request(request)
        return request


class _V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _handler_for(server: TriggerServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # seconds a client may take to send its request
        server_version = "assets_orch"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # library code never prints; the daemon records what it accepts

        def _answer(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if code == 401:
                self.send_header("WWW-Authenticate", 'Bearer realm="assets"')
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            if self.path.split("?")[0].rstrip("/") != "/trigger":
                self._answer(404, {"error": "not found; POST /trigger"})
                return
            if not server.authorized(self.headers.get("Authorization")):
                self._answer(401, {"error": "missing or wrong bearer token"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self._answer(413, {"error": f"the body must be JSON of at most {MAX_BODY} bytes"})
                return
            try:
                raw = self.rfile.read(length) if length else b"{}"
                body = json.loads(raw or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("the body is a JSON object")
                request = server.submit(body, self.client_address[0])
            except queue.Full:
                self._answer(429, {"error": "too many queued requests; try again later"})
                return
            except (ValueError, AssetsError) as e:  # bad JSON, bad selection
                self._answer(400, {"error": str(e)})
                return
            except Exception:  # noqa: BLE001 - never let a request kill the server thread
                self._answer(500, {"error": "internal error"})
                return
            self._answer(202, {"queued": True, "request_id": request.request_id})

        def do_GET(self) -> None:  # noqa: N802
            self._answer(405, {"error": "use POST /trigger"})

    return Handler

"""A local HTTP server that speaks the analytics API's wire format.

It serves `/v1/models`, `/v1/files`, `/v1/batches` and `/v1/files/{file_id}/content` over a real
socket with HTTP/1.1 keep-alive and TCP_NODELAY, checks the bearer key (401 otherwise), pages
with `limit`/`after`/`has_more` within each endpoint's bounds, answers errors in the API's
envelope, and records every request it served (never the key itself).
"""

import json
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from analytics_assets_tests.api_emulator.data import EmulatorData
from analytics_assets_tests.api_emulator.faults import Fault, FaultPlan


@dataclass(frozen=True)
class RecordedRequest:
    """One request the emulator served, and the fault it injected into the answer, if any."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    authorized: bool
    fault: str | None = None


@dataclass(frozen=True)
class Answer:
    """What the handler does: send `body` with `status` and `headers`, cut it, or drop it."""

    status: int
    body: bytes
    headers: dict[str, str]
    action: str = "send"  # or "truncate", "drop"


@dataclass(frozen=True)
class _ListEndpoint:
    records_desc: list[dict[str, Any]]
    positions_desc: dict[str, int]
    limit_max: int
    limit_default: int
    params: frozenset[str]


class _ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str,
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {
            "error": {"message": message, "type": error_type, "param": param, "code": code}
        }


class ApiEmulator:
    """The emulator: construct with data and a key, use as a context manager, read `url`.

    Args:
        data: the records to serve (see `generate_data`).
        api_key: the only bearer key accepted.
        host: loopback by default.
        port: 0 picks a free port.
        latency_seconds: delay added before every answer (none by default).
    """

    def __init__(
        self,
        data: EmulatorData,
        api_key: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_seconds: float = 0.0,
    ) -> None:
        self.data = data
        self.api_key = api_key
        self.latency_seconds = latency_seconds
        self.requests: list[RecordedRequest] = []
        self.connections = 0
        self.faults = FaultPlan()
        self._lock = threading.Lock()
        self._host = host
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._index()

    def _index(self) -> None:
        def newest_first(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
            return sorted(records, key=_newest_first_key, reverse=True)

        files = newest_first(self.data.files)
        batches = newest_first(self.data.batches)
        self._files = _ListEndpoint(
            files,
            {r["id"]: i for i, r in enumerate(files)},
            10_000,
            10_000,
            frozenset({"limit", "order", "after", "purpose"}),
        )
        self._batches = _ListEndpoint(
            batches,
            {r["id"]: i for i, r in enumerate(batches)},
            100,
            20,
            frozenset({"limit", "after"}),
        )

    def reindex(self) -> None:
        """Call after editing `data` while serving, so that pages see the change."""
        with self._lock:
            self._index()

    @property
    def url(self) -> str:
        """The base URL, without `/v1`."""
        assert self._server is not None, "the emulator is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "ApiEmulator":
        """Start serving in a background thread."""
        emulator = self

        class Handler(_Handler):
            owner = emulator

        self._server = _Server((self._host, self._port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="api-emulator"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "ApiEmulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def clear_requests(self) -> None:
        """Forget the requests recorded so far."""
        with self._lock:
            self.requests.clear()

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The recorded requests whose path is exactly `path`."""
        return [r for r in self.requests if r.path == path]

    # -- request handling ---------------------------------------------------------------

    def handle(self, method: str, target: str, authorization: str | None) -> Answer:
        """Answer one request, with the fault the plan picks for it, if any."""
        parts = urlsplit(target)
        raw_path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        authorized = authorization == f"Bearer {self.api_key}"
        fault = self.faults.pick(raw_path, target)
        if self.latency_seconds:
            time.sleep(self.latency_seconds)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
        try:
            if not authorized:
                raise _ApiError(
                    401,
                    "Incorrect API key provided.",
                    error_type="invalid_request_error",
                    code="invalid_api_key",
                )
            if method != "GET":
                raise _ApiError(
                    405, f"Method {method} is not allowed here.", error_type="invalid_request_error"
                )
            if fault is not None and fault.kind == "status":
                raise _ApiError(
                    fault.status,
                    "The server had an error processing your request.",
                    error_type="rate_limit_error" if fault.status == 429 else "server_error",
                )
            status, document = 200, self._route(raw_path, query)
        except _ApiError as error:
            status, document = error.status, error.body
        answer = _build_answer(status, document, fault)
        injected = fault.kind if fault is not None else None
        with self._lock:
            self.requests.append(
                RecordedRequest(method, raw_path, query, answer.status, authorized, injected)
            )
        return answer

    def _route(self, raw_path: str, query: dict[str, str]) -> Any:
        if raw_path == "/v1/models":
            _only_params(query, frozenset())
            return {"object": "list", "data": list(self.data.models)}
        if raw_path == "/v1/files":
            return self._page(self._files, query)
        if raw_path == "/v1/batches":
            return self._page(self._batches, query)
        segments = raw_path.split("/")
        # /v1/files/{file_id}/content, with the id percent-encoded as exactly one segment
        if len(segments) == 5 and segments[:3] == ["", "v1", "files"] and segments[4] == "content":
            _only_params(query, frozenset())
            file_id = unquote(segments[3])
            if file_id not in self.data.contents:
                raise _ApiError(
                    404,
                    f"No such File object: {file_id}",
                    error_type="invalid_request_error",
                    param="id",
                )
            return _Raw(self.data.contents[file_id])
        raise _ApiError(404, f"Invalid URL (GET {raw_path})", error_type="invalid_request_error")

    def _page(self, endpoint: _ListEndpoint, query: dict[str, str]) -> dict[str, Any]:
        _only_params(query, endpoint.params)
        limit = _limit(query.get("limit"), endpoint.limit_default, endpoint.limit_max)
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise _ApiError(
                400,
                f"Invalid value for 'order': {order!r}.",
                error_type="invalid_request_error",
                param="order",
            )
        with self._lock:
            records = endpoint.records_desc
            positions = endpoint.positions_desc
        if "purpose" in query:
            records = [r for r in records if r.get("purpose") == query["purpose"]]
            positions = {r["id"]: i for i, r in enumerate(records)}
        if order == "asc":
            records = records[::-1]
            positions = {r["id"]: i for i, r in enumerate(records)}
        start = 0
        if "after" in query:
            if query["after"] not in positions:
                raise _ApiError(
                    400,
                    f"No such object for 'after': {query['after']!r}.",
                    error_type="invalid_request_error",
                    param="after",
                )
            start = positions[query["after"]] + 1
        data = records[start : start + limit]
        return {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": start + limit < len(records),
        }


def _newest_first_key(record: dict[str, Any]) -> tuple[int, str]:
    # Records that tests corrupted on purpose (no cursor, a text cursor) must still be served.
    try:
        created = int(record.get("created_at") or 0)
    except (TypeError, ValueError):
        created = 0
    return created, str(record.get("id"))


class _Raw:
    """A body served exactly as given (a content document), not wrapped."""

    def __init__(self, document: Any) -> None:
        self.document = document


def _build_answer(status: int, document: Any, fault: Fault | None) -> Answer:
    document = document.document if isinstance(document, _Raw) else document
    headers = {"Content-Type": "application/json", "x-request-id": f"req_{uuid.uuid4().hex}"}
    kind = fault.kind if fault is not None else None
    if kind == "status" and fault.retry_after is not None:
        headers["Retry-After"] = fault.retry_after
    if kind == "html":
        page = f"<html><body><h1>{fault.status} Bad Gateway</h1></body></html>"
        return Answer(fault.status, page.encode(), {**headers, "Content-Type": "text/html"})
    if kind == "drop":
        return Answer(status, b"", headers, action="drop")
    if status == 200 and kind == "not_json":
        return Answer(200, fault.text.encode(), {**headers, "Content-Type": "text/plain"})
    if status == 200 and kind == "corrupt":
        document = fault.transform(document)
    body = json.dumps(document).encode()
    return Answer(status, body, headers, action="truncate" if kind == "truncate" else "send")


def _only_params(query: dict[str, str], allowed: frozenset[str]) -> None:
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise _ApiError(
            400,
            f"Unrecognized request argument supplied: {unknown[0]}",
            error_type="invalid_request_error",
            param=unknown[0],
        )


def _limit(raw: str | None, default: int, maximum: int) -> int:
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= maximum:
        raise _ApiError(
            400,
            f"Invalid 'limit': {raw!r}; expected an integer from 1 to {maximum}.",
            error_type="invalid_request_error",
            param="limit",
        )
    return limit


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (after a timeout, say) is expected here, not an error."""


class _Handler(BaseHTTPRequestHandler):
    owner: ApiEmulator
    protocol_version = "HTTP/1.1"
    # Without this, Nagle's algorithm against delayed ACKs adds about 40 ms to each request.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        """Count each TCP connection, so that tests can see keep-alive at work."""
        super().setup()
        with self.owner._lock:
            self.owner.connections += 1

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._answer("POST")

    def _answer(self, method: str) -> None:
        answer = self.owner.handle(method, self.path, self.headers.get("Authorization"))
        if answer.action == "drop":
            self.close_connection = True
            return
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if answer.action == "truncate":
            self.wfile.write(answer.body[: len(answer.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are recorded on the emulator instead of printed."""

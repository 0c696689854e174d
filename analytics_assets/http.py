"""The HTTP side of a run: one keep-alive session with the spec's retry policy.

The response checks turn an API error into a clear message: resource, path, status and the
API's own words.
"""

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from dlt.sources.helpers.requests.retry import retry_if_status, wait_exponential_retry_after
from dlt.sources.helpers.requests.session import Session as TimeoutSession
from requests import PreparedRequest, Request, Response, Session
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests.exceptions import ChunkedEncodingError, ConnectionError, HTTPError, Timeout
from requests.utils import resolve_proxies
from tenacity import RetryCallState, Retrying, retry_any, retry_if_exception_type
from tenacity.stop import stop_after_attempt

from analytics_assets.declaration import RetryPolicy

# A Retry-After hint longer than this is capped: a run should fail rather than sleep for hours.
MAX_RETRY_DELAY_SECONDS = 120
_logger = logging.getLogger(__name__)


class ApiResponseError(HTTPError):
    """The API answered with an error, or with a body that is not the JSON it promises.

    The message names the resource, the method and URL path (never the query's secrets nor the
    key), the status and the API's own error message.
    """


class MalformedBodyError(ApiResponseError):
    """A complete body that does not parse as JSON (HTML, JSON lines): not retried.

    A body cut short by a dropped connection surfaces as a connection error instead, and is
    retried with the other transient faults.
    """


@dataclass
class RequestStats:
    """What a run's session did: requests sent (attempts included) and retries taken.

    Counted from the threads that fetch file contents at the same time, hence the lock.
    """

    requests: int = 0
    retries: int = 0
    waits: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count_request(self) -> None:
        """Count one request sent (each attempt is one)."""
        with self._lock:
            self.requests += 1

    def count_retry(self, wait: float) -> None:
        """Count one retry, taken after waiting `wait` seconds."""
        with self._lock:
            self.retries += 1
            self.waits.append(wait)


def retrying_session(
    policy: RetryPolicy,
    *,
    timeout_seconds: float = 60,
    max_connections: int = 16,
    sleep: Callable[[float], None] = time.sleep,
    stats: RequestStats | None = None,
    log: Callable[[str], None] = _logger.warning,
) -> Session:
    """Return a keep-alive session that retries as `policy` says.

    It retries the policy's statuses, connection errors, timeouts and bodies cut short, at most
    `policy.max_retries` times after the first try (so `max_retries + 1` attempts), waiting
    `backoff_factor * 2 ** (retry - 1)` seconds, or the server's `Retry-After` (seconds or an
    HTTP date, capped at MAX_RETRY_DELAY_SECONDS; 0 or less is no hint). Error statuses are not
    raised here: the response hooks of `check_response` do that, per resource.

    Args:
        policy: statuses to retry, retries and backoff factor.
        timeout_seconds: connect and read timeout of each attempt.
        max_connections: size of the keep-alive pool (content requests run concurrently).
        sleep: how to wait between attempts (tests pass a recorder).
        stats: counters to update; a fresh one if not given.
        log: where a retry is reported.
    """
    stats = stats if stats is not None else RequestStats()
    session = TimeoutSession(timeout=timeout_seconds, raise_for_status=False)
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max_connections)
    session.mount("http://", adapter)
    session.mount("https://", adapter)

    def before_sleep(state: RetryCallState) -> None:
        wait = state.next_action.sleep if state.next_action else 0.0
        stats.count_retry(wait)
        log(
            f"Retrying {_describe_attempt(state)} in {wait:g} s "
            f"(attempt {state.attempt_number + 1} of {policy.max_retries + 1})"
        )

    retrying = Retrying(
        wait=wait_exponential_retry_after(
            multiplier=policy.backoff_factor, max=MAX_RETRY_DELAY_SECONDS
        ),
        retry=retry_any(
            retry_if_status(policy.retry_statuses),
            retry_if_exception_type((ConnectionError, Timeout, ChunkedEncodingError)),
        ),
        stop=stop_after_attempt(policy.max_retries + 1),
        reraise=True,
        retry_error_callback=lambda state: state.outcome.result(),
        sleep=sleep,
        before_sleep=before_sleep,
    )
    send = session.send

    def counted_send(request: PreparedRequest, **kwargs: Any) -> Response:
        stats.count_request()
        return send(request, **kwargs)

    def retried_send(request: PreparedRequest, **kwargs: Any) -> Response:
        # A copy per call, not `retrying.wraps`: tenacity 9's wrapper shares one statistics
        # dict between concurrent calls and clears it at each start, so a content request
        # retried while another began failed with KeyError 'idle_for' (jd/tenacity#701).
        return retrying.copy()(counted_send, request, **kwargs)

    session.send = retried_send  # type: ignore[method-assign]
    return session


def check_response(resource_name: str) -> Callable[..., Response]:
    """A response hook that raises `ApiResponseError` for an error status or a non-JSON body.

    The body is parsed once here and the result kept on the response, so that dlt's later calls
    of `response.json()` cost nothing.
    """

    def hook(response: Response, *args: Any, **kwargs: Any) -> Response:
        if response.status_code >= 400:
            raise ApiResponseError(error_message(resource_name, response), response=response)
        try:
            document = json.loads(response.content)
        except ValueError:
            raise MalformedBodyError(
                f"resource {resource_name!r}: GET {_path(response)} returned a body that is not "
                f"one JSON document ({len(response.content)} bytes, "
                f"Content-Type {response.headers.get('Content-Type')!r})",
                response=response,
            ) from None
        response.json = lambda **_: document  # type: ignore[method-assign]
        return response

    return hook


def error_message(resource_name: str, response: Response) -> str:
    """The clear error for an error response: resource, path, status and the API's message."""
    message = f"resource {resource_name!r}: GET {_path(response)} failed with HTTP "
    message += f"{response.status_code}"
    if response.status_code == 401:
        message += ": the API key was refused (check SOURCES__ANALYTICS__API_KEY)"
    return f"{message}: {api_error_message(response)}"


def api_error_message(response: Response) -> str:
    """The API's own message from its `{"error": {"message": ...}}` envelope, if it sent one."""
    try:
        message = (json.loads(response.content).get("error") or {}).get("message")
    except (ValueError, AttributeError):
        message = None
    if message:
        return str(message)
    kind = response.headers.get("Content-Type", "no Content-Type")
    return f"{response.reason or 'no reason'} (no API error message; {kind} body)"


def exact_path_getter(
    session: Session,
    base_url: str,
    auth: AuthBase | None,
    hook: Callable[..., Response],
) -> Callable[[str], Response]:
    """A function that GETs `base_url + path` through `session`, checked by `hook`.

    The request is prepared once (headers, auth, hooks) and copied for each path, and the
    proxies for `base_url` (from the environment, as requests reads them) are resolved once:
    per request, preparing through the session and scanning the environment for proxies cost
    more than the request itself on a fast API. Each path is sent exactly as given: requests decodes
    percent-encoded unreserved characters when it prepares a URL, which would turn an encoded
    `..` segment back into a dot segment that clients and proxies then remove.
    """
    template = session.prepare_request(
        Request("GET", base_url, auth=auth, hooks={"response": [hook]})
    )
    proxies = resolve_proxies(template, session.proxies, session.trust_env)

    def get(path: str) -> Response:
        request = template.copy()
        request.url = f"{base_url}{path}"
        return session.send(request, proxies=proxies)

    return get


def _path(response: Response) -> str:
    return urlsplit(response.url or "").path or "?"


def _describe_attempt(state: RetryCallState) -> str:
    request = state.args[0] if state.args else None
    target = f"{request.method} {urlsplit(request.url).path}" if request is not None else "request"
    outcome = state.outcome
    error = outcome.exception() if outcome is not None else None
    response = error.response if isinstance(error, HTTPError) else None
    if response is None and outcome is not None and not outcome.failed:
        response = outcome.result()
    if isinstance(response, Response):
        return f"{target} after HTTP {response.status_code}"
    return f"{target} after {type(error).__name__}"

"""The HTTP session every request of a run goes through: keep-alive and the spec's retry policy."""

from dlt.sources.helpers.requests.retry import Client
from requests import PreparedRequest, Request, Response, Session
from requests.auth import AuthBase

from analytics_assets.declaration import RetryPolicy

REQUEST_TIMEOUT_SECONDS = 60
# A Retry-After hint longer than this is capped: a run should fail rather than sleep for hours.
MAX_RETRY_DELAY_SECONDS = 120


def retrying_session(policy: RetryPolicy, *, max_connections: int = 16) -> Session:
    """Return a keep-alive session that retries as `policy` says.

    It retries the policy's statuses, connection errors and timeouts, at most
    `policy.max_retries` times after the first try, with exponential backoff and the server's
    `Retry-After` honoured. Error statuses are left to the caller (no raise_for_status here).
    """
    client = Client(
        request_timeout=REQUEST_TIMEOUT_SECONDS,
        max_connections=max_connections,
        raise_for_status=False,
        status_codes=policy.retry_statuses,
        request_max_attempts=policy.max_retries + 1,
        request_backoff_factor=policy.backoff_factor,
        request_max_retry_delay=MAX_RETRY_DELAY_SECONDS,
        respect_retry_after_header=True,
    )
    return client.session


def get_exact_path(session: Session, base_url: str, path: str, auth: AuthBase | None) -> Response:
    """GET `base_url + path` with the path sent exactly as given.

    requests decodes percent-encoded unreserved characters when it prepares a URL, which would
    turn an encoded `..` segment back into a dot segment that clients and proxies then remove.
    """
    url = f"{base_url}{path}"
    prepared: PreparedRequest = session.prepare_request(Request("GET", url, auth=auth))
    prepared.url = url
    return session.send(prepared)

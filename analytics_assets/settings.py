"""Settings of the analytics source, read through dlt's config providers only.

Each setting is looked up under `sources.analytics`: in `.dlt/config.toml`, `.dlt/secrets.toml`
or the environment (`SOURCES__ANALYTICS__API_KEY`, `SOURCES__ANALYTICS__BASE_URL`,
`SOURCES__ANALYTICS__START_DATE`, `SOURCES__ANALYTICS__LIMIT`,
`SOURCES__ANALYTICS__CONTENT_CONCURRENCY`, `SOURCES__ANALYTICS__MAX_RETRIES`,
`SOURCES__ANALYTICS__BACKOFF_FACTOR`, `SOURCES__ANALYTICS__REQUEST_TIMEOUT`,
`SOURCES__ANALYTICS__LOOKBACK_DAYS`, `SOURCES__ANALYTICS__FRESHNESS_DAYS`,
`SOURCES__ANALYTICS__PROGRESS_SECONDS`). They are read when definitions load or a run starts,
never at import time.
"""

import ipaddress
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.typing import TSecretStrValue

SETTINGS_SECTIONS = ("sources", "analytics")
START_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DEFAULT_BASE_URL = "https://api.openai.com"
DEFAULT_CONTENT_CONCURRENCY = 16
DEFAULT_REQUEST_TIMEOUT_SECONDS = 60
DEFAULT_LOOKBACK_DAYS = 1
DEFAULT_FRESHNESS_DAYS = 2
DEFAULT_PROGRESS_SECONDS = 10


class AnalyticsSettingsError(ValueError):
    """A setting is missing or malformed; the message names it and the expected form."""


@configspec
class _AnalyticsConfiguration(BaseConfiguration):
    api_key: TSecretStrValue | None = None
    base_url: str = DEFAULT_BASE_URL
    start_date: str | None = None
    limit: str | None = None
    content_concurrency: Any = DEFAULT_CONTENT_CONCURRENCY
    max_retries: int | None = None
    backoff_factor: float | None = None
    request_timeout: Any = DEFAULT_REQUEST_TIMEOUT_SECONDS
    lookback_days: Any = DEFAULT_LOOKBACK_DAYS
    freshness_days: Any = DEFAULT_FRESHNESS_DAYS
    progress_seconds: Any = DEFAULT_PROGRESS_SECONDS


@dataclass(frozen=True)
class AnalyticsSettings:
    """The resolved, validated settings of one definitions load or one run.

    The API key is kept out of `repr` so that it never reaches a log line or an exception.
    `max_retries` and `backoff_factor` are None where the declaration's policy applies.
    """

    base_url: str
    start_date: datetime
    # None: the largest page each endpoint accepts (its declared `limit_max`).
    limit: int | None = None
    content_concurrency: int = DEFAULT_CONTENT_CONCURRENCY
    max_retries: int | None = None
    backoff_factor: float | None = None
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT_SECONDS
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    freshness_days: int = DEFAULT_FRESHNESS_DAYS
    progress_seconds: int = DEFAULT_PROGRESS_SECONDS
    api_key: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.name != "api_key"
        )
        return f"AnalyticsSettings({shown}, api_key={'unset' if self.api_key is None else '***'})"

    def require_api_key(self) -> str:
        """Return the API key, or fail with where to set it."""
        if not self.api_key:
            raise AnalyticsSettingsError(
                "sources.analytics.api_key is not set: put it in .dlt/secrets.toml under "
                "[sources.analytics] or in the environment as SOURCES__ANALYTICS__API_KEY"
            )
        return self.api_key


def load_settings() -> AnalyticsSettings:
    """Resolve and validate the settings from dlt's config providers.

    Raises:
        AnalyticsSettingsError: a setting is missing or malformed.
    """
    try:
        raw = resolve_configuration(_AnalyticsConfiguration(), sections=SETTINGS_SECTIONS)
    except ConfigurationException as error:
        raise AnalyticsSettingsError(
            f"cannot read the sources.analytics settings: {error}"
        ) from None
    return AnalyticsSettings(
        base_url=_parse_base_url(raw.base_url),
        start_date=parse_start_date(raw.start_date),
        limit=None if raw.limit in (None, "") else _parse_positive_int("limit", raw.limit),
        content_concurrency=_parse_positive_int("content_concurrency", raw.content_concurrency),
        max_retries=(
            None if raw.max_retries is None else _parse_int("max_retries", raw.max_retries, 0)
        ),
        backoff_factor=(
            None
            if raw.backoff_factor is None
            else _parse_seconds("backoff_factor", raw.backoff_factor)
        ),
        request_timeout=_parse_seconds("request_timeout", raw.request_timeout),
        lookback_days=_parse_int("lookback_days", raw.lookback_days, 0),
        freshness_days=_parse_int("freshness_days", raw.freshness_days, 0),
        progress_seconds=_parse_int("progress_seconds", raw.progress_seconds, 0),
        api_key=str(raw.api_key) if raw.api_key else None,
    )


def parse_start_date(value: Any) -> datetime:
    """Parse `start_date` text in `%Y-%m-%dT%H:%M:%SZ` into an aware UTC datetime."""
    if value is None or value == "":
        raise AnalyticsSettingsError(
            "sources.analytics.start_date is not set: expected UTC text like "
            "2024-03-01T00:00:00Z (format %Y-%m-%dT%H:%M:%SZ), in .dlt/config.toml or "
            "SOURCES__ANALYTICS__START_DATE"
        )
    if isinstance(value, datetime):
        # TOML and dlt may hand over a parsed datetime; only UTC is meaningful here.
        if value.tzinfo is None or value.utcoffset() != UTC.utcoffset(None):
            raise AnalyticsSettingsError(
                f"sources.analytics.start_date {value.isoformat()!r} is not in UTC: expected "
                "text like 2024-03-01T00:00:00Z (format %Y-%m-%dT%H:%M:%SZ)"
            )
        return value.astimezone(UTC)
    try:
        return datetime.strptime(str(value), START_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise AnalyticsSettingsError(
            f"sources.analytics.start_date {str(value)!r} is malformed: expected UTC text like "
            "2024-03-01T00:00:00Z (format %Y-%m-%dT%H:%M:%SZ)"
        ) from None


def _parse_positive_int(name: str, value: Any) -> int:
    return _parse_int(name, value, 1)


def _parse_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        number = None
    else:
        try:
            number = int(value)
        except ValueError:
            number = None
    if number is None or number < minimum:
        raise AnalyticsSettingsError(
            f"sources.analytics.{name} {value!r} is not valid: expected a whole number of "
            f"{minimum} or more"
        )
    return number


def _parse_seconds(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or not number > 0:
        raise AnalyticsSettingsError(
            f"sources.analytics.{name} {value!r} is not valid: expected a positive number"
        )
    return number


def _parse_base_url(value: Any) -> str:
    text = str(value or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AnalyticsSettingsError(
            f"sources.analytics.base_url {text!r} is not valid: expected an http(s) URL such as "
            f"{DEFAULT_BASE_URL}"
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise AnalyticsSettingsError(
            f"sources.analytics.base_url {text!r} is plain http to a host that is not loopback: "
            "the API key would cross the network unencrypted; use https"
        )
    return text.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

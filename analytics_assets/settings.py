"""Settings of the analytics source, read through dlt's config providers only.

Each setting is looked up under `sources.analytics`: in `.dlt/config.toml`, `.dlt/secrets.toml`
or the environment (`SOURCES__ANALYTICS__API_KEY`, `SOURCES__ANALYTICS__BASE_URL`,
`SOURCES__ANALYTICS__START_DATE`, `SOURCES__ANALYTICS__LIMIT`,
`SOURCES__ANALYTICS__CONTENT_CONCURRENCY`). They are read when definitions load or a run
starts, never at import time.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.typing import TSecretStrValue

SETTINGS_SECTIONS = ("sources", "analytics")
START_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DEFAULT_BASE_URL = "https://api.openai.com"
DEFAULT_LIMIT = 100
DEFAULT_CONTENT_CONCURRENCY = 8


class AnalyticsSettingsError(ValueError):
    """A setting is missing or malformed; the message names it and the expected form."""


@configspec
class _AnalyticsConfiguration(BaseConfiguration):
    api_key: TSecretStrValue | None = None
    base_url: str = DEFAULT_BASE_URL
    start_date: str | None = None
    limit: Any = DEFAULT_LIMIT
    content_concurrency: Any = DEFAULT_CONTENT_CONCURRENCY


@dataclass(frozen=True)
class AnalyticsSettings:
    """The resolved, validated settings of one definitions load or one run.

    The API key is kept out of `repr` so that it never reaches a log line or an exception.
    """

    base_url: str
    start_date: datetime
    limit: int
    content_concurrency: int
    api_key: str | None = None

    def __repr__(self) -> str:
        key = "unset" if self.api_key is None else "***"
        return (
            f"AnalyticsSettings(base_url={self.base_url!r}, start_date={self.start_date!r}, "
            f"limit={self.limit}, content_concurrency={self.content_concurrency}, api_key={key})"
        )

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
        limit=_parse_positive_int("limit", raw.limit),
        content_concurrency=_parse_positive_int("content_concurrency", raw.content_concurrency),
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
    if isinstance(value, bool) or not isinstance(value, int | str):
        number = None
    else:
        try:
            number = int(value)
        except ValueError:
            number = None
    if number is None or number < 1:
        raise AnalyticsSettingsError(
            f"sources.analytics.{name} {value!r} is not valid: expected a whole number of 1 or more"
        )
    return number


def _parse_base_url(value: Any) -> str:
    text = str(value or "").strip()
    if not text.startswith(("http://", "https://")) or len(text.split("://", 1)[1]) == 0:
        raise AnalyticsSettingsError(
            f"sources.analytics.base_url {text!r} is not valid: expected an http(s) URL such as "
            f"{DEFAULT_BASE_URL}"
        )
    return text.rstrip("/")

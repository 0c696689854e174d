"""The retry policy exactly as the spec says, with the waits recorded instead of slept.

Each test loads a day through the real dlt source into a real DuckDB file; only the sleep
between attempts is replaced by a recorder.
"""

import time
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

import pytest

from analytics_assets.declaration import parse_declaration
from analytics_assets.destination import analytics_pipeline
from analytics_assets.http import MAX_RETRY_DELAY_SECONDS, RequestStats, retrying_session
from analytics_assets.partitions import SyncWindow
from analytics_assets.resources_spec import ANALYTICS_API
from analytics_assets.settings import AnalyticsSettings, load_settings
from analytics_assets.source import build_source, retry_policy
from analytics_assets_tests.api_emulator import ApiEmulator, Fault, day
from analytics_assets_tests.conftest import API_KEY, TABLES

DECLARATION = parse_declaration(ANALYTICS_API)
DAY = SyncWindow(day("2024-03-02"), day("2024-03-03"))


@dataclass
class Outcome:
    waits: list[float]
    stats: RequestStats
    error: Exception | None
    logs: list[str]


def load_day(emulator: ApiEmulator, tmp_path: Path, **overrides) -> Outcome:
    settings = AnalyticsSettings(
        base_url=emulator.url,
        start_date=day("2024-03-01"),
        api_key=API_KEY,
        limit=7,
        request_timeout=overrides.pop("request_timeout", 5),
        **overrides,
    )
    waits: list[float] = []
    logs: list[str] = []
    stats = RequestStats()
    session = retrying_session(
        retry_policy(DECLARATION, settings),
        timeout_seconds=settings.request_timeout,
        sleep=waits.append,
        stats=stats,
        log=logs.append,
    )
    source = build_source(DECLARATION, settings, DAY, session=session)
    pipeline = analytics_pipeline(str(tmp_path / "dlt"))
    try:
        pipeline.run(source, loader_file_format="parquet")
        error = None
    except Exception as raised:  # the test inspects it
        error = raised
    return Outcome(waits, stats, error, logs)


def error_chain(error: BaseException | None) -> str:
    texts = []
    while error is not None:
        texts.append(str(error))
        error = error.__cause__ or error.__context__
    return "\n".join(texts)


@pytest.fixture(autouse=True)
def _warehouse(analytics_env):
    """The pipeline loads into the DuckDB file of analytics_env."""


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_retryable_status_is_retried_three_times_with_backoff_factor_2(
    status, emulator, tmp_path, warehouse
):
    emulator.faults.inject(Fault("status", status=status), path="/v1/models", times=3)

    outcome = load_day(emulator, tmp_path)

    assert outcome.error is None
    assert outcome.waits == [2.0, 4.0, 8.0]
    assert [r.status for r in emulator.requests_to("/v1/models")] == [status] * 3 + [200]
    assert warehouse.ids("models")


@pytest.mark.parametrize(
    ("retry_after", "expected_wait"),
    [
        pytest.param("7", 7.0, id="seconds"),
        pytest.param("86400", float(MAX_RETRY_DELAY_SECONDS), id="capped"),
        pytest.param("0", 2.0, id="zero-is-no-hint"),
        pytest.param("-3", 2.0, id="negative-is-no-hint"),
        pytest.param(formatdate(0, usegmt=True), 2.0, id="date-in-the-past-is-no-hint"),
    ],
)
def test_retry_after_is_honoured_capped_and_ignored_when_not_positive(
    retry_after, expected_wait, emulator, tmp_path
):
    emulator.faults.inject(
        Fault("status", status=429, retry_after=retry_after), path="/v1/files", times=1
    )

    outcome = load_day(emulator, tmp_path)

    assert outcome.error is None
    assert outcome.waits == [expected_wait]


def test_retry_after_as_an_http_date_waits_until_that_date(emulator, tmp_path):
    emulator.faults.inject(
        Fault("status", status=503, retry_after=formatdate(time.time() + 30, usegmt=True)),
        path="/v1/batches",
        times=1,
    )

    outcome = load_day(emulator, tmp_path)

    assert outcome.error is None
    assert len(outcome.waits) == 1
    assert 27 <= outcome.waits[0] <= 30


@pytest.mark.parametrize(
    ("fault", "path"),
    [
        pytest.param(Fault("drop"), "/v1/files", id="dropped-connection"),
        pytest.param(Fault("truncate"), "/v1/batches", id="body-cut-short"),
        pytest.param(Fault("html", status=502), "content", id="html-error-page"),
        pytest.param(Fault("slow", seconds=1.5), "/v1/models", id="timeout"),
    ],
)
def test_connection_faults_and_timeouts_are_retried(
    fault, path, emulator, emulator_data, tmp_path, warehouse
):
    if path == "content":  # one file's content, so that concurrent requests do not share it
        path = f"/v1/files/{emulator_data.files_in(DAY.start, DAY.end)[0]['id']}/content"
    emulator.faults.inject(fault, path=path, times=2)

    outcome = load_day(emulator, tmp_path, request_timeout=0.5)

    assert outcome.error is None, error_chain(outcome.error)
    assert outcome.waits == [2.0, 4.0]
    assert outcome.stats.retries == 2
    assert any(path.rstrip("/") in line for line in outcome.logs)
    assert warehouse.ids("file_contents", "uuid")


@pytest.mark.parametrize(
    ("status", "words"),
    [
        pytest.param(400, "failed with HTTP 400: The server had an error", id="bad-request"),
        pytest.param(401, "failed with HTTP 401: the API key was refused", id="key-refused"),
        pytest.param(403, "failed with HTTP 403", id="forbidden"),
        pytest.param(404, "failed with HTTP 404", id="not-found"),
    ],
)
def test_any_other_4xx_fails_at_once_naming_resource_path_status_and_message(
    status, words, emulator, tmp_path, warehouse
):
    emulator.faults.inject(Fault("status", status=status), path="/v1/batches", times=None)

    outcome = load_day(emulator, tmp_path)

    assert outcome.error is not None
    text = error_chain(outcome.error)
    assert f"resource 'batches': GET /v1/batches {words}" in text
    assert outcome.waits == []
    assert len(emulator.requests_to("/v1/batches")) == 1
    assert API_KEY not in text
    assert not warehouse.path.exists() or not set(TABLES) & set(warehouse.tables())


def test_an_endpoint_that_keeps_failing_fails_after_exactly_four_attempts(
    emulator, tmp_path, warehouse
):
    emulator.faults.inject(Fault("status", status=503), path="/v1/files", times=None)

    outcome = load_day(emulator, tmp_path)

    assert "resource 'files': GET /v1/files failed with HTTP 503" in error_chain(outcome.error)
    assert len(emulator.requests_to("/v1/files")) == 4
    assert outcome.waits == [2.0, 4.0, 8.0]
    assert not warehouse.path.exists() or not set(TABLES) & set(warehouse.tables())


def test_retries_and_backoff_are_settings_with_the_spec_as_default(
    analytics_env, monkeypatch, emulator, tmp_path
):
    defaults = retry_policy(DECLARATION, load_settings())
    assert (defaults.max_retries, defaults.backoff_factor) == (3, 2.0)
    assert defaults.retry_statuses == (429, 500, 502, 503, 504)

    emulator.faults.inject(Fault("status", status=500), path="/v1/models", times=None)
    outcome = load_day(emulator, tmp_path, max_retries=1, backoff_factor=0.5)

    assert outcome.error is not None
    assert outcome.waits == [0.5]
    assert len(emulator.requests_to("/v1/models")) == 2


def test_the_settings_read_retries_and_backoff_from_the_environment(analytics_env, monkeypatch):
    monkeypatch.setenv("SOURCES__ANALYTICS__MAX_RETRIES", "5")
    monkeypatch.setenv("SOURCES__ANALYTICS__BACKOFF_FACTOR", "0.25")

    policy = retry_policy(DECLARATION, load_settings())

    assert (policy.max_retries, policy.backoff_factor) == (5, 0.25)

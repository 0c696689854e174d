"""Runs through Dagster against a misbehaving API.

The outcome is exact data, or a clear failure that leaves nothing of the run's own behind and
is followed by an exact rerun.
"""

from collections import defaultdict

import pytest

from analytics_assets_tests.api_emulator import Fault, day
from analytics_assets_tests.conftest import (
    TABLES,
    failure_text,
    range_tags,
    run_daily_job,
    window,
)
from analytics_assets_tests.test_daily_sync import expected_ids, landed_ids

TRANSIENT_FAULTS = [
    *(Fault("status", status=status) for status in (429, 500, 502, 503, 504)),
    Fault("drop"),
    Fault("truncate"),
    Fault("html", status=502),
    Fault("slow", seconds=1.0),
]


@pytest.fixture
def fast_retries(analytics_env, monkeypatch):
    """Keep the spec's 3 retries but wait milliseconds, and time out slow answers quickly."""
    monkeypatch.setenv("SOURCES__ANALYTICS__BACKOFF_FACTOR", "0.01")
    monkeypatch.setenv("SOURCES__ANALYTICS__REQUEST_TIMEOUT", "0.5")


@pytest.mark.parametrize(
    ("run", "first", "days"),
    [
        pytest.param({"partition": "2024-03-02"}, "2024-03-02", 1, id="one-day"),
        pytest.param({"tags": range_tags("2024-03-01", "2024-03-03")}, "2024-03-01", 3, id="range"),
    ],
)
def test_transient_faults_on_most_requests_still_load_exactly(
    run, first, days, fast_retries, emulator, emulator_data, warehouse, dagster_instance
):
    emulator.faults.at_random(TRANSIENT_FAULTS, rate=0.6, seed=5, max_in_a_row=3)

    result = run_daily_job(dagster_instance, **run)

    assert result.success, failure_text(result)
    start, end = window(day(first), days=days)
    for table in TABLES:
        assert landed_ids(warehouse, table) == expected_ids(emulator_data, table, start, end), table
    expected_files = {f["id"]: f for f in emulator_data.files_in(start, end)}
    for row in warehouse.rows("files"):
        assert {k: row[k] for k in ("created_at", "filename", "bytes", "purpose")} == {
            k: expected_files[row["id"]][k] for k in ("created_at", "filename", "bytes", "purpose")
        }
    faults_by_request = defaultdict(list)
    for request in emulator.requests:
        faults_by_request[(request.path, tuple(sorted(request.query.items())))].append(
            request.fault
        )
    failed_once = sum(1 for faults in faults_by_request.values() if any(faults))
    assert failed_once / len(faults_by_request) > 0.5, "most requests must have failed once"


def test_an_exhausted_budget_fails_the_run_clearly_and_lands_nothing_then_a_rerun_is_exact(
    fast_retries, emulator, emulator_data, warehouse, dagster_instance
):
    emulator.faults.inject(Fault("status", status=503), path="/v1/batches", times=None)

    failed = run_daily_job(dagster_instance, partition="2024-03-02")

    assert not failed.success
    assert "resource 'batches': GET /v1/batches failed with HTTP 503" in failure_text(failed)
    assert len(emulator.requests_to("/v1/batches")) == 4
    assert not warehouse.path.exists() or not set(TABLES) & set(warehouse.tables())

    emulator.faults.clear()
    assert run_daily_job(dagster_instance, partition="2024-03-02").success
    start, end = window(day("2024-03-02"))
    for table in TABLES:
        assert landed_ids(warehouse, table) == expected_ids(emulator_data, table, start, end), table


def test_a_refused_key_fails_the_run_saying_so(analytics_env, emulator, dagster_instance):
    emulator.api_key = "sk-another-key"

    result = run_daily_job(dagster_instance, partition="2024-03-02")

    assert not result.success
    assert "failed with HTTP 401: the API key was refused" in failure_text(result)
    assert all(r.status == 401 for r in emulator.requests)
    assert len(emulator.requests) <= 3, "a 401 is not retried"

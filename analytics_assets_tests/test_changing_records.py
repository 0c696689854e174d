"""Records that change after their day.

Reruns update them in place, and the daily schedule re-syncs a look-back window so that a
batch ends with its final status.
"""

from datetime import UTC, datetime, timedelta

import pytest
from dagster import DagsterInstance, RunRequest, build_schedule_context

import analytics_assets
from analytics_assets.automation import DAILY_CRON, DAILY_JOB_NAME, DAILY_SCHEDULE_NAME
from analytics_assets_tests.api_emulator import day
from analytics_assets_tests.conftest import failure_text, run_daily_job, window


def evaluate_schedule(instance: DagsterInstance, when: datetime) -> list[RunRequest]:
    defs = analytics_assets.defs()
    schedule = defs.resolve_schedule_def(DAILY_SCHEDULE_NAME)
    # Entered: the context opens an instance of its own from the ref, and only leaving the
    # context closes it and takes its state storage out of Dagster's context variable.
    with build_schedule_context(
        instance=instance, scheduled_execution_time=when, repository_def=defs.get_repository_def()
    ) as context:
        return list(schedule.evaluate_tick(context).run_requests or [])


def run_request(instance: DagsterInstance, request: RunRequest):
    job = analytics_assets.defs().resolve_job_def(DAILY_JOB_NAME)
    return job.execute_in_process(
        instance=instance, partition_key=request.partition_key, tags=dict(request.tags)
    )


def test_a_rerun_updates_a_changed_batch_in_place(
    analytics_env, emulator, emulator_data, warehouse, dagster_instance
):
    batch = emulator_data.batches_in(*window(day("2024-03-02")))[0]
    batch["status"] = "in_progress"
    assert run_daily_job(dagster_instance, partition="2024-03-02").success
    count = len(warehouse.ids("batches"))

    batch["status"] = "completed"
    batch["completed_at"] = batch["created_at"] + 600
    assert run_daily_job(dagster_instance, partition="2024-03-02").success

    for table in ("batches", "batch_results"):
        rows = {row["id"]: row for row in warehouse.rows(table)}
        assert len(rows) == count == len(warehouse.ids(table))
        assert rows[batch["id"]]["status"] == "completed"
        assert rows[batch["id"]]["completed_at"] == batch["created_at"] + 600


@pytest.mark.parametrize(
    ("lookback", "expected"),
    [
        pytest.param(None, ("2024-03-02", "2024-03-03"), id="default-previous-day-too"),
        pytest.param("0", ("2024-03-03", "2024-03-03"), id="no-look-back"),
        pytest.param("2", ("2024-03-01", "2024-03-03"), id="two-days"),
        pytest.param("9", ("2024-03-01", "2024-03-03"), id="clipped-at-the-first-partition"),
    ],
)
def test_the_schedule_runs_yesterday_and_the_look_back_days_as_one_run(
    lookback, expected, analytics_env, monkeypatch, dagster_instance
):
    if lookback is not None:
        monkeypatch.setenv("SOURCES__ANALYTICS__LOOKBACK_DAYS", lookback)
    # 01:10 in UTC+1 is 00:10 UTC: the schedule's days are UTC days.
    when = datetime(2024, 3, 4, 1, 10, tzinfo=UTC) - timedelta(hours=1)

    (request,) = evaluate_schedule(dagster_instance, when)

    first, last = expected
    if first == last:
        assert request.partition_key == last
    else:
        assert request.tags["dagster/asset_partition_range_start"] == first
        assert request.tags["dagster/asset_partition_range_end"] == last
    assert request.run_key == (last if first == last else f"{first}...{last}")


def test_the_schedule_is_daily_in_utc_and_skips_before_the_first_partition(
    analytics_env, dagster_instance
):
    schedule = analytics_assets.defs().resolve_schedule_def(DAILY_SCHEDULE_NAME)
    assert schedule.cron_schedule == DAILY_CRON == "10 0 * * *"
    assert schedule.execution_timezone == "UTC"
    assert evaluate_schedule(dagster_instance, datetime(2024, 3, 1, 0, 10, tzinfo=UTC)) == []


def test_a_batch_created_late_yesterday_ends_with_its_final_status(
    analytics_env, emulator, emulator_data, warehouse, dagster_instance
):
    late = emulator_data.batches_in(*window(day("2024-03-02")))[0]
    late["created_at"] = int(day("2024-03-02").timestamp()) + 23 * 3600 + 30 * 60
    late["status"] = "in_progress"
    emulator.reindex()

    (first_tick,) = evaluate_schedule(dagster_instance, datetime(2024, 3, 3, 0, 10, tzinfo=UTC))
    assert run_request(dagster_instance, first_tick).success
    assert {r["id"]: r for r in warehouse.rows("batches")}[late["id"]]["status"] == "in_progress"

    late["status"] = "completed"  # it finished after midnight
    (second_tick,) = evaluate_schedule(dagster_instance, datetime(2024, 3, 4, 0, 10, tzinfo=UTC))
    result = run_request(dagster_instance, second_tick)

    assert result.success, failure_text(result)
    assert {r["id"]: r for r in warehouse.rows("batches")}[late["id"]]["status"] == "completed"
    assert {r["id"]: r for r in warehouse.rows("batch_results")}[late["id"]]["status"] == (
        "completed"
    )

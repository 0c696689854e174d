"""The asset sensor on `analytics/files`, and users' own asset sensors on the five keys."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    EventLogEntry,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    asset_sensor,
    build_sensor_context,
)
from dagster._core.remote_representation.external import RemoteSensor
from dagster._core.scheduler.instigation import SensorInstigatorData, TickStatus
from dagster._core.storage.tags import PARTITION_NAME_TAG, RUN_KEY_TAG, SENSOR_NAME_TAG
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget
from dagster._daemon.daemon import get_default_daemon_logger
from dagster._daemon.sensor import execute_sensor_iteration

import analytics_assets
from analytics_assets import sensors
from analytics_assets.automation import DAILY_JOB_NAME
from analytics_assets_tests.api_emulator import day
from analytics_assets_tests.commands import REPOSITORY, dagster_home
from analytics_assets_tests.conftest import range_tags, window

FILES = AssetKey(["analytics", "files"])
CONTENTS = AssetKey(["analytics", "file_contents"])
SENSOR = "analytics_file_contents_sensor"
# Runs a sensor requests wait in the queue: no daemon here starts them.
QUEUED_RUNS = (
    "run_coordinator:\n  module: dagster._core.run_coordinator\n  class: QueuedRunCoordinator\n"
)


def tick(instance: DagsterInstance, defs: Definitions, name: str, cursor: str | None):
    sensor = defs.resolve_sensor_def(name)
    # Entered, so that the instance the context opens is closed with it (see conftest.py).
    with build_sensor_context(
        instance=instance, cursor=cursor, repository_def=defs.get_repository_def()
    ) as context:
        result = sensor.evaluate_tick(context)
    return list(result.run_requests or []), result.cursor


def newest_files_storage_id(instance: DagsterInstance) -> int:
    [record] = instance.fetch_materializations(FILES, limit=1).records
    return record.storage_id


@pytest.fixture
def queued_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DagsterInstance]:
    """A real Dagster instance whose runs are queued, as the production instance's are."""
    home = dagster_home(tmp_path / "queued", QUEUED_RUNS)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = DagsterInstance.get()  # not entered: see the dagster_instance fixture
    try:
        yield instance
    finally:
        instance.dispose()


def set_cursor(instance: DagsterInstance, sensor: RemoteSensor, cursor: str) -> None:
    """Give the sensor this cursor, as `dagster sensor cursor --set` does.

    The times of earlier ticks are left out, so the daemon evaluates the sensor now rather than
    after its minimum interval of 30 seconds.
    """
    state = instance.get_instigator_state(sensor.get_remote_origin_id(), sensor.selector_id)
    instance.update_instigator_state(
        state.with_data(
            SensorInstigatorData(
                min_interval=sensor.min_interval_seconds,
                cursor=cursor,
                sensor_type=sensor.sensor_type,
            )
        )
    )


def daemon_tick(workspace: WorkspaceProcessContext) -> None:
    """One iteration of the sensor daemon: evaluate the running sensors, submit their runs."""
    logger = get_default_daemon_logger("SensorDaemon")
    list(execute_sensor_iteration(workspace, logger, None, None))


def test_files_alone_makes_the_sensor_load_file_contents_once_for_that_day(
    analytics_env, emulator_data, warehouse, dagster_instance
):
    defs = analytics_assets.defs()
    daily = defs.resolve_job_def(DAILY_JOB_NAME)
    assert daily.execute_in_process(
        instance=dagster_instance, partition_key="2024-03-02", asset_selection=[FILES]
    ).success
    assert "file_contents" not in warehouse.tables()

    requests, cursor = tick(dagster_instance, defs, SENSOR, None)

    assert [r.partition_key for r in requests] == ["2024-03-02"]
    assert defs.resolve_sensor_def(SENSOR).job_name == "analytics_file_contents_job"
    job = defs.resolve_job_def("analytics_file_contents_job")
    launched = job.execute_in_process(
        instance=dagster_instance,
        partition_key=requests[0].partition_key,
        tags={**requests[0].tags, "dagster/sensor_name": SENSOR},
    )
    assert launched.success
    files = emulator_data.files_in(*window(day("2024-03-02")))
    assert warehouse.ids("file_contents", "uuid") == sorted(
        emulator_data.contents[f["id"]]["uuid"] for f in files
    )
    again, _ = tick(dagster_instance, defs, SENSOR, cursor)
    assert again == [], "never a second run for the same materialization"


def test_a_run_of_the_whole_job_asks_the_sensor_for_nothing(
    analytics_env, emulator, dagster_instance
):
    defs = analytics_assets.defs()
    assert (
        defs.resolve_job_def(DAILY_JOB_NAME)
        .execute_in_process(instance=dagster_instance, partition_key="2024-03-02")
        .success
    )

    requests, _ = tick(dagster_instance, defs, SENSOR, None)

    assert requests == []


def test_every_materialization_of_a_range_is_answered_not_only_the_newest(
    analytics_env, emulator, dagster_instance
):
    defs = analytics_assets.defs()
    assert (
        defs.resolve_job_def(DAILY_JOB_NAME)
        .execute_in_process(
            instance=dagster_instance,
            asset_selection=[FILES],
            tags={
                "dagster/asset_partition_range_start": "2024-03-01",
                "dagster/asset_partition_range_end": "2024-03-03",
            },
        )
        .success
    )

    requests, _ = tick(dagster_instance, defs, SENSOR, None)

    assert sorted(r.partition_key for r in requests) == ["2024-03-01", "2024-03-02", "2024-03-03"]
    assert len({r.run_key for r in requests}) == 3


def test_a_users_own_asset_sensor_sees_the_partition_of_each_materialization(
    analytics_env, emulator, dagster_instance
):
    @asset_sensor(asset_key=AssetKey(["analytics", "batches"]), job_name="report_job")
    def batches_report(context: SensorEvaluationContext, asset_event: EventLogEntry):
        partition = asset_event.dagster_event.partition
        return RunRequest(run_key=f"report-{partition}", tags={"report_day": partition})

    defs = analytics_assets.defs()
    assert (
        defs.resolve_job_def(DAILY_JOB_NAME)
        .execute_in_process(instance=dagster_instance, partition_key="2024-03-03")
        .success
    )
    with build_sensor_context(instance=dagster_instance) as context:
        (request,) = batches_report.evaluate_tick(context).run_requests

    assert request.tags["report_day"] == "2024-03-03"


def test_more_new_materializations_than_one_page_each_get_their_run(
    analytics_env, emulator, dagster_instance, monkeypatch
):
    monkeypatch.setattr(sensors, "PAGE_SIZE", 2)
    defs = analytics_assets.defs()
    daily = defs.resolve_job_def(DAILY_JOB_NAME)
    assert daily.execute_in_process(
        instance=dagster_instance, partition_key="2024-03-01", asset_selection=[FILES]
    ).success
    _, cursor = tick(dagster_instance, defs, SENSOR, None)
    days = ["2024-03-02", "2024-03-03", "2024-03-04", "2024-03-05", "2024-03-06"]
    assert daily.execute_in_process(
        instance=dagster_instance, asset_selection=[FILES], tags=range_tags(days[0], days[-1])
    ).success
    since = dagster_instance.fetch_materializations(
        AssetRecordsFilter(asset_key=FILES, after_storage_id=int(cursor)), limit=100
    ).records
    assert len(since) == len(days) > 2 * sensors.PAGE_SIZE, "three pages since the cursor"

    requests, new_cursor = tick(dagster_instance, defs, SENSOR, cursor)

    assert sorted(r.partition_key for r in requests) == days
    assert len({r.run_key for r in requests}) == len(days)
    assert new_cursor == str(max(r.storage_id for r in since))


def test_a_tick_repeated_from_the_same_cursor_makes_no_second_run(
    analytics_env, emulator, queued_instance
):
    daily = analytics_assets.defs().resolve_job_def(DAILY_JOB_NAME)
    assert daily.execute_in_process(
        instance=queued_instance, partition_key="2024-03-01", asset_selection=[FILES]
    ).success
    old_cursor = str(newest_files_storage_id(queued_instance))
    assert daily.execute_in_process(
        instance=queued_instance,
        asset_selection=[FILES],
        tags=range_tags("2024-03-02", "2024-03-03"),
    ).success
    target = WorkspaceFileTarget(paths=[str(REPOSITORY / "workspace.yaml")])

    with create_test_daemon_workspace_context(target, queued_instance) as workspace:
        [location] = workspace.create_request_context().get_code_location_entries().values()
        [repository] = location.code_location.get_repositories().values()
        sensor = repository.get_sensor(SENSOR)
        queued_instance.start_sensor(sensor)
        # Twice from the same cursor: as after a daemon that crashed before it stored the new
        # cursor, or a cursor set back by hand.
        for _ in range(2):
            set_cursor(queued_instance, sensor, old_cursor)
            daemon_tick(workspace)
        ticks = queued_instance.get_ticks(sensor.get_remote_origin_id(), sensor.selector_id)

    runs = queued_instance.get_runs(RunsFilter(tags={SENSOR_NAME_TAG: SENSOR}))
    assert sorted(run.tags[PARTITION_NAME_TAG] for run in runs) == ["2024-03-02", "2024-03-03"]
    assert {run.status for run in runs} == {DagsterRunStatus.QUEUED}
    assert len({run.tags[RUN_KEY_TAG] for run in runs}) == 2
    second, first = ticks
    assert first.status == TickStatus.SUCCESS
    assert len(first.run_ids) == 2
    assert sorted(second.run_keys) == sorted(first.run_keys), "the same two requests again"
    assert second.run_ids == []
    assert second.status == TickStatus.SKIPPED

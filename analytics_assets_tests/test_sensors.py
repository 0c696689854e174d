"""The asset sensor on `analytics/files`, and users' own asset sensors on the five keys."""

from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    EventLogEntry,
    RunRequest,
    SensorEvaluationContext,
    asset_sensor,
    build_sensor_context,
)

import analytics_assets
from analytics_assets.automation import DAILY_JOB_NAME
from analytics_assets_tests.api_emulator import day
from analytics_assets_tests.conftest import window

FILES = AssetKey(["analytics", "files"])
CONTENTS = AssetKey(["analytics", "file_contents"])
SENSOR = "analytics_file_contents_sensor"


def tick(instance: DagsterInstance, defs: Definitions, name: str, cursor: str | None):
    sensor = defs.resolve_sensor_def(name)
    context = build_sensor_context(
        instance=instance, cursor=cursor, repository_def=defs.get_repository_def()
    )
    result = sensor.evaluate_tick(context)
    return list(result.run_requests or []), result.cursor


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
    context = build_sensor_context(instance=dagster_instance)

    (request,) = batches_report.evaluate_tick(context).run_requests

    assert request.tags["report_day"] == "2024-03-03"

"""Asset checks run with the job and read the destination for the run's days.

A failing check shows the offending keys in its metadata.
"""

import duckdb
from dagster import AssetCheckKey, AssetKey, DagsterInstance

import analytics_assets
from analytics_assets.automation import CHECKS_JOB_NAME
from analytics_assets.checks import CHILD_ROWS_CHECK, FRESHNESS_CHECK, PRIMARY_KEY_CHECK
from analytics_assets_tests.api_emulator import day
from analytics_assets_tests.conftest import TABLES, run_daily_job

DAY = "2024-03-02"


def evaluations(result) -> dict[AssetCheckKey, object]:
    return {
        AssetCheckKey(e.asset_key, e.check_name): e
        for e in (
            event.event_specific_data
            for event in result.all_events
            if event.event_type_value == "ASSET_CHECK_EVALUATION"
        )
    }


def run_checks(instance: DagsterInstance, partition: str):
    job = analytics_assets.defs().resolve_job_def(CHECKS_JOB_NAME)
    return job.execute_in_process(instance=instance, tags={"dagster/partition": partition})


def test_the_job_runs_every_check_and_a_sound_day_passes_them(
    analytics_env, monkeypatch, emulator, dagster_instance
):
    monkeypatch.setenv("SOURCES__ANALYTICS__FRESHNESS_DAYS", "100000")

    result = run_daily_job(dagster_instance, partition=DAY)

    assert result.success
    found = evaluations(result)
    expected = {AssetCheckKey(AssetKey(["analytics", t]), PRIMARY_KEY_CHECK) for t in TABLES}
    expected |= {AssetCheckKey(AssetKey(["analytics", t]), FRESHNESS_CHECK) for t in TABLES}
    expected.add(AssetCheckKey(AssetKey(["analytics", "file_contents"]), CHILD_ROWS_CHECK))
    assert set(found) == expected
    assert all(e.passed for e in found.values()), [k for k, e in found.items() if not e.passed]


def test_a_stale_newest_day_fails_the_freshness_check_with_its_age(
    analytics_env, emulator, dagster_instance
):
    result = run_daily_job(dagster_instance, partition=DAY)

    check = evaluations(result)[AssetCheckKey(AssetKey(["analytics", "files"]), FRESHNESS_CHECK)]
    assert not check.passed
    assert check.metadata["newest_day"].value == DAY
    expected_age = (day("2026-01-01").date() - day(DAY).date()).days
    assert check.metadata["age_days"].value >= expected_age
    assert check.metadata["freshness_days"].value == 2


def test_duplicate_keys_and_missing_contents_fail_their_checks_naming_the_keys(
    analytics_env, emulator, emulator_data, warehouse, dagster_instance
):
    assert run_daily_job(dagster_instance, partition=DAY).success
    in_day = int(day(DAY).timestamp()) + 60
    lost_file = emulator_data.files_in(day(DAY), day("2024-03-03"))[0]["id"]
    with duckdb.connect(str(warehouse.path)) as connection:
        for _ in range(2):
            connection.execute(
                "insert into analytics.batches (id, created_at, _dlt_load_id, _dlt_id) "
                "values ('batch_dup', ?, 'manual', gen_random_uuid()::varchar)",
                [in_day],
            )
        connection.execute("delete from analytics.file_contents where file_id = ?", [lost_file])

    result = run_checks(dagster_instance, DAY)

    assert result.success
    found = evaluations(result)
    duplicates = found[AssetCheckKey(AssetKey(["analytics", "batches"]), PRIMARY_KEY_CHECK)]
    assert not duplicates.passed
    assert duplicates.metadata["offending"].value == [{"key": "batch_dup", "rows": 2}]
    assert duplicates.metadata["offending_keys"].value == 1
    missing = found[AssetCheckKey(AssetKey(["analytics", "file_contents"]), CHILD_ROWS_CHECK)]
    assert not missing.passed
    assert missing.metadata["files_without_file_contents"].value == [lost_file]
    assert found[AssetCheckKey(AssetKey(["analytics", "files"]), PRIMARY_KEY_CHECK)].passed

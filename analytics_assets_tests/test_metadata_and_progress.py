"""What each materialization says about its run, and the progress a long run logs as it goes."""

from dagster import DagsterEventType

from analytics_assets.progress import RunProgress
from analytics_assets_tests.api_emulator import Fault, day
from analytics_assets_tests.conftest import TABLES, range_tags, run_daily_job, window
from analytics_assets_tests.test_daily_sync import truth


def materializations(result) -> dict[str, dict]:
    return {
        event.materialization.asset_key.path[-1]: event.materialization.metadata
        for event in result.get_asset_materialization_events()
    }


def test_each_materialization_carries_rows_window_table_schema_pages_requests_and_retries(
    analytics_env, emulator, emulator_data, dagster_instance
):
    emulator.faults.inject(Fault("status", status=503), path="/v1/models", times=1)
    result = run_daily_job(dagster_instance, partition="2024-03-02")
    assert result.success

    found = materializations(result)
    start, end = window(day("2024-03-02"))
    pages = {path: len(emulator.requests_to(path)) for path in ("/v1/files", "/v1/batches")}
    for table in TABLES:
        metadata = found[table]
        expected_rows = len(truth(emulator_data, table, start, end))
        assert metadata["rows_loaded"].value == expected_rows, table
        assert metadata["dagster/partition_row_count"].value == expected_rows, table
        assert metadata["window"].value == "[2024-03-02T00:00:00Z, 2024-03-03T00:00:00Z)"
        assert metadata["window_start"].value == start.timestamp()
        assert metadata["window_end"].value == end.timestamp()
        assert metadata["dagster/table_name"].value == f"duckdb.analytics.{table}"
        assert metadata["dagster/column_schema"].value.columns
        assert metadata["run_requests"].value == len(emulator.requests)
        assert metadata["run_retries"].value == 1
    assert found["files"]["pages_read"].value == pages["/v1/files"]
    assert found["batches"]["pages_read"].value == pages["/v1/batches"]
    assert found["batch_results"]["pages_read"].value == pages["/v1/batches"], "one shared read"
    assert found["file_contents"]["pages_read"].value == len(emulator_data.files_in(start, end))
    assert found["models"]["pages_read"].value == 1, "the 503 was retried, not counted as a page"


def test_in_a_range_run_each_day_carries_the_rows_of_that_day(
    analytics_env, emulator, emulator_data, dagster_instance
):
    result = run_daily_job(dagster_instance, tags=range_tags("2024-03-01", "2024-03-03"))
    assert result.success

    counts = {
        (event.materialization.asset_key.path[-1], event.materialization.partition): (
            event.materialization.metadata["dagster/partition_row_count"].value
        )
        for event in result.get_asset_materialization_events()
    }
    expected = {}
    for partition in ("2024-03-01", "2024-03-02", "2024-03-03"):
        start, end = window(day(partition))
        for table in TABLES:
            expected[(table, partition)] = len(truth(emulator_data, table, start, end))
    assert counts == expected
    assert len(set(counts.values())) > 1, "the days of the test data differ in size"


def test_a_long_run_logs_its_progress_as_it_goes(
    analytics_env, monkeypatch, emulator, dagster_instance
):
    monkeypatch.setenv("SOURCES__ANALYTICS__PROGRESS_SECONDS", "0")

    result = run_daily_job(dagster_instance, tags=range_tags("2024-03-01", "2024-03-04"))

    assert result.success
    logs = [
        (event.timestamp, event.user_message)
        for event in dagster_instance.all_logs(result.run_id)
        if event.user_message.startswith("Progress: ")
    ]
    assert len(logs) > 10
    assert any("files 2 pages" in message for _, message in logs)
    assert any(", at 2024-03-01" in message for _, message in logs)
    materialized_at = min(
        event.timestamp
        for event in dagster_instance.all_logs(
            result.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
        )
    )
    assert min(t for t, _ in logs) < materialized_at, "progress shows before the end"


def test_progress_reports_once_per_interval_with_pages_records_and_day():
    now = [100.0]
    lines: list[str] = []
    progress = RunProgress(log=lines.append, report_every_seconds=10, clock=lambda: now[0])

    progress.page("files", 100, int(day("2024-05-03").timestamp()))
    now[0] += 5
    progress.page("files", 100, int(day("2024-05-02").timestamp()))
    now[0] += 6
    progress.page("file_contents", 1)

    assert lines == [
        "Progress: files 2 pages, 200 records, at 2024-05-02; file_contents 1 pages, 1 records"
    ]

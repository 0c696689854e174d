"""`dagster job execute` end to end, as users and scripts run it, into the default DuckDB file."""

import os
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus

from analytics_assets_tests.api_emulator import day
from analytics_assets_tests.conftest import (
    TABLES,
    Warehouse,
    cli_home,
    range_tags,
    run_cli,
    window,
)


def dagster_job_execute(tags: dict[str, str], *, cwd: Path, env: dict[str, str]) -> None:
    completed = run_cli(tags, cwd=cwd, env=env)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]


def test_the_daily_job_runs_from_the_cli_for_a_day_and_for_a_range(
    analytics_env, tmp_path, emulator_data
):
    home = cli_home(tmp_path)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    # Without DESTINATION__DUCKDB__CREDENTIALS the data lands in the default file.
    env.pop("DESTINATION__DUCKDB__CREDENTIALS")

    dagster_job_execute({"dagster/partition": "2024-03-02"}, cwd=tmp_path, env=env)
    dagster_job_execute(range_tags("2024-03-03", "2024-03-04"), cwd=tmp_path, env=env)

    warehouse = Warehouse(tmp_path / "analytics_assets.duckdb")
    start, end = window(day("2024-03-02"), days=3)
    assert warehouse.ids("files") == sorted(f["id"] for f in emulator_data.files_in(start, end))
    assert warehouse.ids("batch_results") == sorted(
        b["id"] for b in emulator_data.batches_in(start, end)
    )
    assert warehouse.ids("file_contents", "uuid") == sorted(
        emulator_data.contents[f["id"]]["uuid"] for f in emulator_data.files_in(start, end)
    )
    assert set(TABLES) <= set(warehouse.tables())

    with DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
    assert [run.status for run in runs] == [DagsterRunStatus.SUCCESS] * 2
    assert sorted(
        p
        for run in runs
        for p in [
            run.tags.get("dagster/partition") or run.tags["dagster/asset_partition_range_start"]
        ]
    ) == ["2024-03-02", "2024-03-03"]

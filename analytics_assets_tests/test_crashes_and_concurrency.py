"""A run killed mid-way leaves nothing to clean up; concurrent runs take turns writing.

Runs go through `dagster job execute` in their own processes, as schedules and scripts run them.
"""

import itertools
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance

from analytics_assets_tests.api_emulator import ApiEmulator, day, generate_data
from analytics_assets_tests.conftest import (
    API_KEY,
    TABLES,
    Warehouse,
    cli_home,
    job_execute_command,
    run_cli,
    window,
)
from analytics_assets_tests.test_daily_sync import expected_ids, landed_ids


@pytest.fixture
def cli_env(analytics_env, tmp_path) -> dict[str, str]:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    return {
        **os.environ,
        "DAGSTER_HOME": str(cli_home(tmp_path)),
        "TMPDIR": str(scratch),
    }


def start_run(tags: dict[str, str], tmp_path: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        job_execute_command(tags),
        cwd=tmp_path,
        env=env,
        stdout=(tmp_path / f"run-{time.monotonic_ns()}.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_when(process: subprocess.Popen, ready, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, "the run ended before the moment to kill it"
        assert time.monotonic() < deadline, "the moment to kill the run never came"
        time.sleep(0.002)
    os.killpg(process.pid, signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


def assert_exact(warehouse: Warehouse, data, first: str, days: int = 1) -> None:
    start, end = window(day(first), days=days)
    for table in TABLES:
        landed = landed_ids(warehouse, table)
        assert len(landed) == len(set(landed)), f"duplicates in {table}"
        assert landed == expected_ids(data, table, start, end), table


def test_a_run_killed_during_extraction_is_rerun_exactly(
    cli_env, tmp_path, emulator: ApiEmulator, emulator_data, warehouse
):
    emulator.latency_seconds = 0.05
    run = start_run({"dagster/partition": "2024-03-02"}, tmp_path, cli_env)
    kill_when(run, lambda: any(r.path.endswith("/content") for r in emulator.requests))

    emulator.latency_seconds = 0
    rerun = run_cli({"dagster/partition": "2024-03-02"}, cwd=tmp_path, env=cli_env)

    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert_exact(warehouse, emulator_data, "2024-03-02")


def test_a_run_killed_while_duckdb_loads_is_rerun_exactly(
    cli_env, tmp_path, monkeypatch, warehouse
):
    data = generate_data(start=day("2024-03-01"), days=2, files=3000, batches=400, models=10)
    with ApiEmulator(data, API_KEY) as emulator:
        monkeypatch.setitem(cli_env, "SOURCES__ANALYTICS__BASE_URL", emulator.url)
        monkeypatch.setitem(cli_env, "SOURCES__ANALYTICS__LIMIT", "1000")
        package = "analytics-dlt-run-*/analytics_assets/load/normalized/*"
        scratch = Path(cli_env["TMPDIR"])

        def loading() -> bool:
            # dlt has taken up a load job (started or done) and the package is not loaded yet.
            return any(scratch.glob(f"{package}/started_jobs/*")) or any(
                scratch.glob(f"{package}/completed_jobs/*")
            )

        run = start_run({"dagster/partition": "2024-03-02"}, tmp_path, cli_env)
        kill_when(run, loading)
        assert not any(scratch.glob("analytics-dlt-run-*/analytics_assets/load/loaded/*"))

        rerun = run_cli({"dagster/partition": "2024-03-02"}, cwd=tmp_path, env=cli_env)

        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert_exact(warehouse, data, "2024-03-02")


@pytest.mark.postgres
@pytest.mark.parametrize("destination", ["postgres"], indirect=True)
def test_a_run_killed_in_the_middle_of_its_postgres_load_is_rerun_exactly(
    cli_env, tmp_path, emulator_data, postgres_database, warehouse
):
    import psycopg2

    assert run_cli({"dagster/partition": "2024-03-01"}, cwd=tmp_path, env=cli_env).returncode == 0
    blocker = psycopg2.connect(postgres_database)
    try:
        with blocker.cursor() as cursor:
            # Hold the batches table: the next run's load of it waits, mid-load, until killed.
            cursor.execute("lock table analytics.batches in access exclusive mode")
            run = start_run({"dagster/partition": "2024-03-02"}, tmp_path, cli_env)

            def waiting_for_the_table() -> bool:
                cursor.execute(
                    "select count(*) from pg_locks l join pg_class c on c.oid = l.relation "
                    "where not l.granted and c.relname = 'batches'"
                )
                return cursor.fetchone()[0] > 0

            kill_when(run, waiting_for_the_table)
    finally:
        blocker.rollback()
        blocker.close()

    rerun = run_cli({"dagster/partition": "2024-03-02"}, cwd=tmp_path, env=cli_env)

    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert_exact(warehouse, emulator_data, "2024-03-01", days=2)


@pytest.mark.parametrize(
    "destination", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_concurrent_runs_for_different_days_take_turns_writing_and_all_land_exactly(
    cli_env, tmp_path, emulator_data, warehouse
):
    days = ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04"]
    runs = [start_run({"dagster/partition": d}, tmp_path, cli_env) for d in days]

    assert [run.wait(timeout=300) for run in runs] == [0] * len(days)

    assert_exact(warehouse, emulator_data, "2024-03-01", days=4)
    with DagsterInstance.from_config(cli_env["DAGSTER_HOME"]) as instance:
        writing = []
        for record in instance.get_runs():
            messages = {
                event.user_message.split(" ")[0]: event.timestamp
                for event in instance.all_logs(record.run_id)
                if event.user_message.startswith(("Writing ", "Done writing "))
            }
            writing.append((messages["Writing"], messages["Done"]))
    writing.sort()
    assert len(writing) == len(days)
    for (_, earlier_end), (later_start, _) in itertools.pairwise(writing):
        assert later_start >= earlier_end, "two runs wrote the destination at the same time"

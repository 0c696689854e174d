"""The production instance (deploy/dagster.yaml), for real.

Storage on PostgreSQL, the daemon, the queued run coordinator and the pool, running a 7-day
backfill to exact data.
"""

import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus

from analytics_assets_tests.api_emulator import day
from analytics_assets_tests.commands import (
    ONE_PLANNED_EVENT_PER_ASSET,
    PRODUCTION_INSTANCE,
    instance_storage_environment,
    production_environment,
)
from analytics_assets_tests.conftest import (
    DAGSTER,
    REPOSITORY,
    TABLES,
    fresh_postgres_database,
    range_tags,
    run_cli,
    window,
)
from analytics_assets_tests.test_daily_sync import expected_ids, landed_ids

pytestmark = pytest.mark.postgres
DAGSTER_DAEMON = str(Path(sys.executable).parent / "dagster-daemon")
START, SUCCESS = DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS
PLANNED = DagsterEventType.ASSET_MATERIALIZATION_PLANNED
MATERIALIZATION = DagsterEventType.ASSET_MATERIALIZATION


@pytest.fixture
def instance_database() -> Iterator[str]:
    """A fresh database for the instance's storage (a plain `postgresql://` DSN)."""
    with fresh_postgres_database("dagster_test") as dsn:
        yield dsn


@pytest.fixture
def production_home(tmp_path, instance_database, monkeypatch) -> Path:
    """DAGSTER_HOME with deploy/dagster.yaml as shipped; only its variables come from the test."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PRODUCTION_INSTANCE, home / "dagster.yaml")
    for name, value in instance_storage_environment(instance_database).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    # Create the storage's tables now: the daemon and the backfill command starting together
    # would race to create them (seen: `type "jobs" already exists`).
    with DagsterInstance.get():
        pass
    return home


def test_the_production_instance_stores_events_in_postgres_through_psycopg2(production_home):
    assert (production_home / "dagster.yaml").read_bytes() == PRODUCTION_INSTANCE.read_bytes()
    with DagsterInstance.get() as instance:
        storages = [instance.run_storage, instance.event_log_storage, instance.schedule_storage]
        assert [type(storage).__name__ for storage in storages] == [
            "PostgresRunStorage",
            "PostgresEventLogStorage",
            "PostgresScheduleStorage",
        ]
        # The driver named by the file's `scheme`, not SQLAlchemy's default for `postgresql`.
        assert [storage._engine.dialect.driver for storage in storages] == ["psycopg2"] * 3
        run = instance.create_run_for_job(job_def=_noop_job(), run_id=str(uuid.uuid4()))
        # Storing an event sends NOTIFY run_events: the step that breaks under psycopg 3.
        instance.report_engine_event("stored through psycopg2", run)
        messages = [
            e.dagster_event.message for e in instance.all_logs(run.run_id) if e.dagster_event
        ]
        # And a whole run, whose every event is stored the same way.
        tiny = _noop_job().execute_in_process(instance=instance)
        stored = instance.all_logs(tiny.run_id)
    assert "stored through psycopg2" in messages
    assert tiny.success
    assert DagsterEventType.RUN_SUCCESS in [e.dagster_event_type for e in stored]


def _noop_job():
    from dagster import job, op

    @op
    def noop() -> None:
        """Nothing."""

    @job
    def noop_job() -> None:
        noop()

    return noop_job


def test_a_seven_day_backfill_through_the_daemon_lands_exactly(
    analytics_env, production_home, tmp_path, emulator_data, warehouse
):
    log = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [DAGSTER_DAEMON, "run", "-w", str(REPOSITORY / "workspace.yaml")],
        cwd=REPOSITORY,
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        submitted = subprocess.run(
            [
                DAGSTER,
                "job",
                "backfill",
                "-w",
                str(REPOSITORY / "workspace.yaml"),
                "-j",
                "analytics_daily_job",
                "--from",
                "2024-03-01",
                "--to",
                "2024-03-07",
                "--noprompt",
            ],
            cwd=REPOSITORY,
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert submitted.returncode == 0, submitted.stdout[-2000:] + submitted.stderr[-2000:]
        deadline = time.monotonic() + 300
        with DagsterInstance.get() as instance:
            while True:
                backfills = instance.get_backfills()
                runs = instance.get_runs()
                if (
                    backfills
                    and runs
                    and all(r.is_finished for r in runs)
                    and (backfills[0].status.value not in ("REQUESTED",))
                ):
                    break
                assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
                assert time.monotonic() < deadline, (
                    f"backfill not done: {[b.status for b in backfills]}, "
                    f"{[r.status for r in runs]}"
                )
                time.sleep(1)
            statuses = [run.status for run in instance.get_runs()]
            steps = sorted(
                (
                    min(e.timestamp for e in logs if e.dagster_event.event_type == START),
                    max(e.timestamp for e in logs if e.dagster_event.event_type == SUCCESS),
                )
                for logs in (
                    [
                        e
                        for e in instance.all_logs(run.run_id)
                        if e.dagster_event is not None and e.step_key == "analytics_api"
                    ]
                    for run in instance.get_runs()
                )
            )
    finally:
        os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait(timeout=30)
        log.close()

    # A job backfill runs each day on its own; the pool lets one load run at a time.
    assert statuses == [DagsterRunStatus.SUCCESS] * 7
    for (_, earlier_end), (later_start, _) in itertools.pairwise(steps):
        assert later_start >= earlier_end, "two loads ran at once despite the pool limit"
    start, end = window(day("2024-03-01"), days=7)
    for table in TABLES:
        assert landed_ids(warehouse, table) == expected_ids(emulator_data, table, start, end), table


def test_a_multi_day_run_with_the_production_environment_records_every_day(
    analytics_env, production_home, tmp_path, emulator_data, warehouse
):
    # deploy/instance.env (batched event writes) and its optional switch (one planned event per
    # asset), as `dagster job execute` runs with them.
    env = {**os.environ, **production_environment(), **ONE_PLANNED_EVENT_PER_ASSET}
    assert env["DAGSTER_EVENT_BATCH_SIZE"] != "0"
    days = ["2024-03-01", "2024-03-02", "2024-03-03"]

    finished = run_cli(range_tags(days[0], days[-1]), cwd=tmp_path, env=env)

    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    with DagsterInstance.get() as instance:
        [run] = instance.get_runs()
        events = [e.dagster_event for e in instance.all_logs(run.run_id) if e.dagster_event]
        for table in TABLES:
            key = AssetKey(["analytics", table])
            planned = [e for e in events if e.event_type == PLANNED and e.asset_key == key]
            materialized = [
                e.partition
                for e in events
                if e.event_type == MATERIALIZATION and e.asset_key == key
            ]
            assert len(planned) == 1, table
            assert sorted(materialized) == days, table
            assert instance.get_materialized_partitions(key) == set(days), table
    start, end = window(day(days[0]), days=len(days))
    for table in TABLES:
        assert landed_ids(warehouse, table) == expected_ids(emulator_data, table, start, end), table

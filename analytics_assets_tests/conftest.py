"""Shared fixtures: the API emulator, a DuckDB file and a Dagster instance in tmp_path.

The settings point at them through dlt's environment provider, as a user's would.
"""

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pytest
import requests
from dagster import DagsterInstance, ExecuteInProcessResult
from dagster._core.storage.defs_state.base import set_defs_state_storage

import analytics_assets
from analytics_assets.automation import DAILY_JOB_NAME
from analytics_assets_tests import commands
from analytics_assets_tests.api_emulator import ApiEmulator, EmulatorData, day, generate_data
from analytics_assets_tests.commands import (
    DAGSTER,
    REPOSITORY,
    TABLES,
    dagster_home,
    job_execute_command,
)

API_KEY = "sk-emulator-test-key-7d1f"
FIRST_DAY = day("2024-03-01")
DAYS = 4
PAGE_LIMIT = 7


class Warehouse:
    """Reads what landed in the DuckDB file (or, as `PostgresWarehouse`, in PostgreSQL)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of `analytics.<table>`, as dicts, dlt's own columns left out."""
        with duckdb.connect(str(self.path), read_only=True) as connection:
            cursor = connection.execute(f"select * from analytics.{table}")
            names = [column[0] for column in cursor.description]
            rows = cursor.fetchall()
        return [
            {k: v for k, v in zip(names, row, strict=True) if not k.startswith("_dlt")}
            for row in rows
        ]

    def ids(self, table: str, key: str = "id") -> list[str]:
        """The primary keys of a table, sorted, duplicates kept."""
        return sorted(row[key] for row in self.rows(table))

    def tables(self) -> list[str]:
        """The tables of the `analytics` dataset."""
        with duckdb.connect(str(self.path), read_only=True) as connection:
            found = connection.execute(
                "select table_name from information_schema.tables where table_schema = 'analytics'"
            ).fetchall()
        return sorted(name for (name,) in found)

    def reset(self) -> None:
        """Remove everything that landed, as if nothing had run."""
        for path in (self.path, self.path.with_name(f"{self.path.name}.wal")):
            path.unlink(missing_ok=True)

    def is_empty(self) -> bool:
        """True when none of the five tables exists yet."""
        return not self.path.exists() or not set(TABLES) & set(self.tables())

    def column_types(self, table: str) -> dict[str, str]:
        """Column name to DuckDB type."""
        with duckdb.connect(str(self.path), read_only=True) as connection:
            described = connection.execute(f"describe analytics.{table}").fetchall()
        return {row[0]: row[1] for row in described}


@pytest.fixture(autouse=True)
def _no_dagster_state_storage_left_by_another_test() -> Iterator[None]:
    # Dagster keeps the open instance's state storage in a context variable; an instance that
    # another test closed must not be found there by this test's definitions load.
    with set_defs_state_storage(None):
        yield


@pytest.fixture
def emulator_data() -> EmulatorData:
    return generate_data(start=FIRST_DAY, days=DAYS, files=120, batches=60, models=10, seed=7)


@pytest.fixture
def emulator(emulator_data: EmulatorData) -> Iterator[ApiEmulator]:
    with ApiEmulator(emulator_data, API_KEY) as running:
        yield running


class PostgresWarehouse(Warehouse):
    """Reads what landed in a PostgreSQL database, with DuckDB's names for the column types."""

    _TYPES: ClassVar[dict[str, str]] = {
        "character varying": "VARCHAR",
        "text": "VARCHAR",
        "bigint": "BIGINT",
        "jsonb": "JSON",
        "double precision": "DOUBLE",
        "boolean": "BOOLEAN",
    }

    def __init__(self, dsn: str, path: Path) -> None:
        super().__init__(path)
        self.dsn = dsn

    def _query(self, sql: str, *params: Any) -> tuple[list[str], list[tuple]]:
        import psycopg2

        with psycopg2.connect(self.dsn) as connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            names = [column[0] for column in cursor.description]
            return names, cursor.fetchall()

    def rows(self, table: str) -> list[dict[str, Any]]:
        names, rows = self._query(f'select * from analytics."{table}"')
        return [
            {k: v for k, v in zip(names, row, strict=True) if not k.startswith("_dlt")}
            for row in rows
        ]

    def tables(self) -> list[str]:
        _, rows = self._query(
            "select table_name from information_schema.tables where table_schema = 'analytics'"
        )
        return sorted(name for (name,) in rows)

    def column_types(self, table: str) -> dict[str, str]:
        _, rows = self._query(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'analytics' and table_name = %s",
            table,
        )
        return {name: self._TYPES.get(kind, kind.upper()) for name, kind in rows}

    def is_empty(self) -> bool:
        return not set(TABLES) & set(self.tables())

    def reset(self) -> None:
        import psycopg2

        with psycopg2.connect(self.dsn) as connection, connection.cursor() as cursor:
            cursor.execute("drop schema if exists analytics cascade")
            cursor.execute("drop schema if exists analytics_staging cascade")


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def destination(request: pytest.FixtureRequest) -> str:
    """The destination under test: `duckdb`, unless a test is parametrized with `postgres`."""
    return getattr(request, "param", "duckdb")


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """Create a database on the test PostgreSQL server, yield its DSN, drop it afterwards.

    Fails in CI and skips elsewhere when ANALYTICS_TEST_POSTGRES_DSN is not set.
    """
    server = os.environ.get("ANALYTICS_TEST_POSTGRES_DSN")
    if not server:
        message = "ANALYTICS_TEST_POSTGRES_DSN is not set: run `make postgres-up` and export it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with commands.fresh_postgres_database(server, prefix) as dsn:
        yield dsn


@pytest.fixture
def postgres_database(destination: str) -> Iterator[str | None]:
    """A fresh database for the destination when the test runs against PostgreSQL."""
    if destination != "postgres":
        yield None
        return
    with fresh_postgres_database("analytics_test") as dsn:
        yield dsn


@pytest.fixture
def warehouse(warehouse_path: Path, postgres_database: str | None) -> Warehouse:
    if postgres_database:
        return PostgresWarehouse(postgres_database, warehouse_path)
    return Warehouse(warehouse_path)


@pytest.fixture
def analytics_env(
    monkeypatch: pytest.MonkeyPatch,
    emulator: ApiEmulator,
    warehouse_path: Path,
    postgres_database: str | None,
) -> dict[str, str]:
    """Point the project at the emulator and the destination through environment variables."""
    env = {
        "SOURCES__ANALYTICS__BASE_URL": emulator.url,
        "SOURCES__ANALYTICS__API_KEY": API_KEY,
        "SOURCES__ANALYTICS__START_DATE": "2024-03-01T00:00:00Z",
        "SOURCES__ANALYTICS__LIMIT": str(PAGE_LIMIT),
        "DESTINATION__DUCKDB__CREDENTIALS": str(warehouse_path),
    }
    if postgres_database:
        env["ANALYTICS__DESTINATION"] = "postgres"
        env["DESTINATION__POSTGRES__CREDENTIALS"] = postgres_database
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def dagster_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DagsterInstance]:
    """A real, persistent Dagster instance in a temporary DAGSTER_HOME."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    # Not entered as a context manager: entering puts the instance's state storage in a context
    # variable that `dispose` never resets, so a later definitions load could find it after the
    # instance is gone ("Attempted to resolve undefined DagsterInstance weakref", seen in CI).
    instance = DagsterInstance.get()
    try:
        yield instance
    finally:
        instance.dispose()


def add_files_with_ids(
    emulator: ApiEmulator, data: EmulatorData, ids: list[str], first_created_at: int
) -> None:
    """Serve one more file per id, a second apart from `first_created_at`.

    Each file's content is `{"uuid": "uuid-odd-<n>", "glossary": {"term": <its id>}}`.
    """
    for offset, file_id in enumerate(ids):
        data.add_file(
            {
                "id": file_id,
                "object": "file",
                "created_at": first_created_at + offset,
                "bytes": 1,
                "filename": f"{offset}.json",
                "purpose": "batch",
                "status": "processed",
            },
            {"uuid": f"uuid-odd-{offset}", "glossary": {"term": file_id}},
        )
    emulator.reindex()


def range_tags(first: str, last: str) -> dict[str, str]:
    """The run tags of a single run over the partitions `first` to `last`, both included."""
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


def run_daily_job(
    instance: DagsterInstance, *, partition: str | None = None, tags: dict[str, str] | None = None
) -> ExecuteInProcessResult:
    """Load the definitions as Dagster does and run `analytics_daily_job` in process."""
    job = analytics_assets.defs().resolve_job_def(DAILY_JOB_NAME)
    return job.execute_in_process(
        instance=instance, partition_key=partition, tags=tags, raise_on_error=False
    )


def jsonable(value: Any) -> Any:
    """A DuckDB JSON column comes back as text; parse it for comparison."""
    return json.loads(value) if isinstance(value, str) else value


def window(first: datetime, days: int = 1) -> tuple[datetime, datetime]:
    """The half-open window of `days` days from `first`."""
    return first, first + timedelta(days=days)


def failure_text(result: ExecuteInProcessResult) -> str:
    """Every message of the run's step failures, causes included."""
    texts = []
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        while error is not None:
            texts.append(error.message)
            error = error.cause
    return "\n".join(texts)


def cli_home(tmp_path: Path, instance_yaml: str = "") -> Path:
    """A DAGSTER_HOME under tmp_path with telemetry off and the given instance settings."""
    home = dagster_home(tmp_path, instance_yaml)
    # Create the instance's storage now: processes started together would race to create it.
    with DagsterInstance.from_config(str(home)):
        pass
    return home


def run_cli(tags: dict[str, str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run the daily job through the CLI to its end and return what it printed."""
    return subprocess.run(
        job_execute_command(tags),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dagster_dev(analytics_env, tmp_path) -> Iterator[str]:
    """`dagster dev` on workspace.yaml, loopback and a free port; yields its URL.

    Its whole process group is killed afterwards, also when the test fails, and the teardown
    checks that no process of it is left.
    """
    home = cli_home(tmp_path)
    port = free_port()
    log = (tmp_path / "dagster_dev.log").open("w")
    process = subprocess.Popen(
        [
            DAGSTER,
            "dev",
            "-w",
            str(REPOSITORY / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=REPOSITORY,
        env={**os.environ, "DAGSTER_HOME": str(home)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, (tmp_path / "dagster_dev.log").read_text()[-3000:]
            try:
                if requests.get(f"{url}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "dagster dev did not start within 180 s"
            time.sleep(0.5)
        yield url
    finally:
        # dagster dev can ignore SIGTERM for a long time: end its whole process group.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        log.close()
        # SIGKILL is delivered at once but a process takes a moment to exit (seen in CI: one
        # still listed right after the group was killed); give the kernel a few seconds.
        deadline = time.monotonic() + 10
        while (left := _processes_naming(home)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert left == [], f"processes of dagster dev left behind: {left}"


def _processes_naming(path: Path) -> list[str]:
    """`ps` lines of the processes whose command line contains `path`."""
    pids = subprocess.run(
        ["pgrep", "-f", str(path)], capture_output=True, text=True, check=False
    ).stdout.split()
    if not pids:
        return []
    listed = subprocess.run(
        ["ps", "-o", "pid=,stat=,args=", "-p", ",".join(pids)],
        capture_output=True,
        text=True,
        check=False,
    )
    return listed.stdout.splitlines()

"""What users run, built once for the tests, the demo and the benchmark."""

import json
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

from analytics_assets.automation import DAILY_JOB_NAME

TABLES = ("models", "files", "file_contents", "batches", "batch_results")
# The `dagster` of the running interpreter's environment, wherever PATH points.
DAGSTER = str(Path(sys.executable).parent / "dagster")
REPOSITORY = Path(__file__).resolve().parents[1]
PRODUCTION_INSTANCE = REPOSITORY / "deploy" / "dagster.yaml"
PRODUCTION_ENVIRONMENT = REPOSITORY / "deploy" / "instance.env"
# Dagster's switch for one planned event per asset in a multi-day run (deploy/instance.env).
ONE_PLANNED_EVENT_PER_ASSET = {"DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1"}


def job_execute_command(tags: dict[str, str]) -> list[str]:
    """`dagster job execute` of the daily job with `tags`, as users and scripts run it."""
    return [
        DAGSTER,
        "job",
        "execute",
        "-m",
        "analytics_assets",
        "-j",
        DAILY_JOB_NAME,
        "--tags",
        json.dumps(tags),
    ]


def dagster_home(root: Path, instance_yaml: str = "") -> Path:
    """`root/dagster_home` with a `dagster.yaml`: telemetry off and the given instance settings."""
    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n" + instance_yaml)
    return home


@contextmanager
def fresh_postgres_database(server: str, prefix: str) -> Iterator[str]:
    """Create a database on the PostgreSQL server at DSN `server`; yield its DSN, then drop it."""
    import psycopg2

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(server)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"create database {name}")
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"drop database {name} with (force)")
        admin.close()


def production_environment() -> dict[str, str]:
    """The variables deploy/instance.env sets (its `NAME=value` lines; comments left out)."""
    lines = PRODUCTION_ENVIRONMENT.read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


def instance_storage_environment(dsn: str) -> dict[str, str]:
    """The variables deploy/dagster.yaml reads its PostgreSQL storage from, for database `dsn`."""
    url = urlsplit(dsn)
    return {
        "DAGSTER_PG_USERNAME": unquote(url.username or ""),
        "DAGSTER_PG_PASSWORD": unquote(url.password or ""),
        "DAGSTER_PG_HOST": url.hostname or "",
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_DB": url.path.lstrip("/"),
    }

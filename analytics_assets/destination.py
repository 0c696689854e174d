"""Where the data lands: a dlt pipeline into the `analytics` dataset.

The destination is the setting `analytics.destination` (`ANALYTICS__DESTINATION`), any dlt
destination name: `duckdb` by default, `postgres`, or a warehouse such as `bigquery`,
`snowflake` or `motherduck`. Its credentials are dlt's own settings
(`DESTINATION__POSTGRES__CREDENTIALS`, ...).

DuckDB lands in `analytics_assets.duckdb` in the working directory by default (dlt's default
file is named after the pipeline; it must not be `analytics.duckdb`, because a DuckDB catalog
named like the dataset makes every `analytics.<table>` reference ambiguous). Point it elsewhere
with `DESTINATION__DUCKDB__CREDENTIALS`.
"""

import fcntl
import functools
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dlt
from dlt.common.destination import Destination

PIPELINE_NAME = "analytics_assets"
DATASET_NAME = "analytics"
DESTINATION_SETTING = "analytics.destination"
DEFAULT_DESTINATION = "duckdb"
# The Dagster concurrency pool the assets run in; deployments set its limit (see README).
DESTINATION_POOL = "analytics_destination"


def analytics_pipeline(pipelines_dir: str) -> dlt.Pipeline:
    """A dlt pipeline whose working directory lives under `pipelines_dir`.

    Each run passes a directory of its own, so that concurrent runs never share dlt's local
    state; the incremental windows are stateless and schemas are restored from the destination.
    """
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        pipelines_dir=pipelines_dir,
        destination=destination_name(),
        dataset_name=DATASET_NAME,
    )


class DestinationSettingError(ValueError):
    """The destination setting names no dlt destination."""


def destination_name() -> str:
    """The configured dlt destination name (`ANALYTICS__DESTINATION`), `duckdb` by default."""
    name = str(dlt.config.get(DESTINATION_SETTING) or DEFAULT_DESTINATION).strip()
    try:
        Destination.from_reference(name)
    except Exception:  # dlt raises several kinds for an unknown or uninstalled destination
        raise DestinationSettingError(
            f"{DESTINATION_SETTING} {name!r} is not a dlt destination that is installed: use "
            "duckdb, postgres, or a warehouse whose dlt extra is installed (bigquery, snowflake, "
            "motherduck)"
        ) from None
    return name


def loader_file_format(pipeline: dlt.Pipeline) -> str | None:
    """Parquet for DuckDB, otherwise the destination's own preferred format.

    Loading 100k rows into DuckDB took about 14 s with insert statements, 0.6 s with Parquet.
    """
    return "parquet" if pipeline.destination.destination_name == "duckdb" else None


@functools.cache
def _definitions_workdir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="analytics-dlt-definitions-")


def definitions_pipeline() -> dlt.Pipeline:
    """The pipeline the asset definitions describe (destination kind, dataset); never run.

    dlt writes a working directory whenever a pipeline object is made, so this one lives in a
    temporary directory of the process, removed when the process exits.
    """
    return analytics_pipeline(_definitions_workdir().name)


@contextmanager
def single_writer(pipeline: dlt.Pipeline, log: Callable[[str], None]) -> Iterator[None]:
    """Let only one run at a time write the pipeline's dataset, whatever started the runs.

    Concurrent dlt loads into one dataset race: they share its staging dataset and its schema
    and state tables (seen on PostgreSQL: a deadlock in one run, and another run that ended
    successfully with rows of its day missing). So a run waits for the others:

    - DuckDB, which also allows one writing process per file: an exclusive `flock` on
      `<database>.writer-lock`.
    - PostgreSQL: a session-level advisory lock keyed by the dataset.

    The kernel or the server releases either lock when the holding process ends, even by
    SIGKILL, so a crashed run never leaves anything to clean up. Other destinations rely on the
    Dagster pool `analytics_destination` having a limit of 1 (see README).
    """
    kind = pipeline.destination.destination_name
    if kind == "duckdb":
        lock = _duckdb_file_lock
    elif kind == "postgres":
        lock = _postgres_advisory_lock
    else:
        yield
        return
    with lock(pipeline, log):
        yield


@contextmanager
def _duckdb_file_lock(pipeline: dlt.Pipeline, log: Callable[[str], None]) -> Iterator[None]:
    database = Path(pipeline.destination_client().config.credentials.database)
    lock_path = database.with_name(f"{database.name}.writer-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"Waiting for another run to finish writing {database}")
            fcntl.flock(lock, fcntl.LOCK_EX)
        log(f"Writing {database} (the only writer)")
        try:
            yield
        finally:
            log(f"Done writing {database}")
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def _postgres_advisory_lock(pipeline: dlt.Pipeline, log: Callable[[str], None]) -> Iterator[None]:
    import psycopg2  # installed with dlt's postgres extra, which this destination needs

    credentials = pipeline.destination_client().config.credentials
    # Host, port and database only: the credentials' password never goes into a message.
    target = (
        f"postgres://{credentials.host}:{credentials.port}/{credentials.database} "
        f"dataset {pipeline.dataset_name}"
    )
    key = f"{PIPELINE_NAME}:{credentials.database}:{pipeline.dataset_name}"
    connection = psycopg2.connect(credentials.to_native_representation())
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("select pg_try_advisory_lock(hashtext(%s))", (key,))
            (locked,) = cursor.fetchone()
            if not locked:
                log(f"Waiting for another run to finish writing {target}")
                cursor.execute("select pg_advisory_lock(hashtext(%s))", (key,))
        log(f"Writing {target} (the only writer)")
        try:
            yield
        finally:
            log(f"Done writing {target}")
            with connection.cursor() as cursor:
                cursor.execute("select pg_advisory_unlock(hashtext(%s))", (key,))
    finally:
        connection.close()

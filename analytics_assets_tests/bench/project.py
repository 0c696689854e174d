"""The project: `analytics_daily_job` over a range of days in one run, as a user runs it.

Run by the benchmark as `python -m analytics_assets_tests.bench.project '<json args>'`, with the
settings (`SOURCES__ANALYTICS__*`, `DESTINATION__DUCKDB__CREDENTIALS`) in the environment.
The Dagster instance is a temporary local one (SQLite), or with `"instance": "production"` the
project's deploy/dagster.yaml, whose storage is the PostgreSQL database named by `DAGSTER_PG_*`.
With `"extract_only"` it instead iterates the project's own dlt source for the window (what the
run reads, without loading), to time the fetching alone.
"""

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The op of the five assets: the sync itself (extract, normalize, load), without the run's
# set-up, its per-partition events and the asset checks.
SYNC_STEP = "analytics_api"


def run_job(first: str, last: str, assets: list[str], instance_kind: str) -> dict[str, Any]:
    """Materialize `assets` (names) for the days `first`..`last` in one run of the daily job."""
    from dagster import AssetKey

    import analytics_assets
    from analytics_assets.automation import DAILY_JOB_NAME

    with (
        tempfile.TemporaryDirectory(prefix="bench-dagster-") as home,
        _instance(Path(home), instance_kind) as instance,
    ):
        # Timed from an instance whose storage exists, as a deployed one's does.
        started = time.perf_counter()
        job = analytics_assets.defs().resolve_job_def(DAILY_JOB_NAME)
        result = job.execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": last,
            },
            asset_selection=[AssetKey(["analytics", name]) for name in assets],
        )
        if not result.success:
            raise RuntimeError("the run failed")
        seconds = time.perf_counter() - started
        sync_seconds = _step_seconds(instance, result.run_id, SYNC_STEP)
    return {"seconds": seconds, "sync_seconds": sync_seconds}


def _instance(home: Path, kind: str) -> Any:
    from dagster import DagsterInstance

    from analytics_assets_tests.commands import PRODUCTION_INSTANCE

    if kind == "production":
        shutil.copy(PRODUCTION_INSTANCE, home / "dagster.yaml")
        return DagsterInstance.from_config(str(home))
    return DagsterInstance.local_temp(str(home))


def _step_seconds(instance: Any, run_id: str, step_key: str) -> float:
    """How long the step ran, from its start event to its success event."""
    times = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if (
            event is not None
            and event.step_key == step_key
            and event.event_type_value in ("STEP_START", "STEP_SUCCESS")
        ):
            times[event.event_type_value] = entry.timestamp
    return times["STEP_SUCCESS"] - times["STEP_START"]


def extract_only(first: str, last: str, resource: str) -> dict[str, Any]:
    """Iterate the project's source for the window and count what `resource` yields."""
    from datetime import UTC, datetime, timedelta

    from analytics_assets.declaration import parse_declaration
    from analytics_assets.partitions import SyncWindow
    from analytics_assets.resources_spec import ANALYTICS_API
    from analytics_assets.settings import load_settings
    from analytics_assets.source import build_source

    started = time.perf_counter()
    settings = load_settings()
    start = datetime.strptime(first, "%Y-%m-%d").replace(tzinfo=UTC)
    end = datetime.strptime(last, "%Y-%m-%d").replace(tzinfo=UTC) + timedelta(days=1)
    source = build_source(parse_declaration(ANALYTICS_API), settings, SyncWindow(start, end))
    items = sum(1 for _ in source.resources[resource])
    return {"seconds": time.perf_counter() - started, "items": items}


def main(args: dict[str, Any]) -> dict[str, Any]:
    """Dispatch on `args["mode"]`: `job` (the default) or `extract_only`."""
    if args.get("mode") == "extract_only":
        return extract_only(args["first"], args["last"], args["resource"])
    return run_job(args["first"], args["last"], args["assets"], args.get("instance", "local"))


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))  # noqa: T201

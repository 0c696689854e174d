"""The asset sensor that loads a child (`file_contents`) after its parent was loaded alone."""

from collections.abc import Iterator

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    EventLogEntry,
    EventLogRecord,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    asset_sensor,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

# Materializations read per query. Every page since the cursor is read, oldest first, so this
# only bounds one query; the tests lower it to page through a few days.
PAGE_SIZE = 1000


def build_child_sensor(
    parent_key: AssetKey, child_key: AssetKey, child_job: UnresolvedAssetJobDefinition
) -> SensorDefinition:
    """An asset sensor named `analytics_<child>_sensor` (`analytics_file_contents_sensor`).

    When the parent (`files`) is materialized for a day by a run that did not also plan the
    child (`file_contents`), it requests the child for that day.

    Dagster's asset sensor hands over only the newest materialization since its cursor, and then
    moves the cursor to it, so the sensor reads every one since the cursor, oldest first and page
    by page: none is skipped, however many a backfill made. Each request's run key names the
    materialization it answers, so no materialization ever gets a second run (Dagster skips a
    request whose run key already has a run of this sensor).
    """

    @asset_sensor(
        asset_key=parent_key,
        job=child_job,
        name=f"analytics_{child_key.path[-1]}_sensor",
        description=(
            f"Loads {child_key.to_user_string()} for a day whose "
            f"{parent_key.to_user_string()} were loaded without it."
        ),
    )
    def child_sensor(
        context: SensorEvaluationContext, asset_event: EventLogEntry
    ) -> Iterator[RunRequest | SkipReason]:
        previous = int(context.cursor) if context.cursor else None
        requested = 0
        for record in _materializations_since(context.instance, parent_key, previous):
            partition = record.partition_key
            if partition is None or _run_planned(context, record.run_id, child_key):
                continue
            requested += 1
            yield RunRequest(
                run_key=f"{child_key.to_user_string()}-after-{record.storage_id}",
                partition_key=partition,
            )
        if not requested:
            yield SkipReason("every new materialization of the parent came with the child")

    return child_sensor


def _materializations_since(
    instance: DagsterInstance, key: AssetKey, storage_id: int | None
) -> Iterator[EventLogRecord]:
    """Every materialization of `key` after `storage_id` (all if None), oldest first."""
    records_filter = AssetRecordsFilter(asset_key=key, after_storage_id=storage_id)
    cursor = None
    while True:
        page = instance.fetch_materializations(
            records_filter, limit=PAGE_SIZE, cursor=cursor, ascending=True
        )
        yield from page.records
        if not page.has_more:
            return
        cursor = page.cursor


def _run_planned(context: SensorEvaluationContext, run_id: str, key: AssetKey) -> bool:
    run = context.instance.get_run_by_id(run_id)
    if run is None:
        return False
    if run.asset_selection:  # empty for a run of the whole job
        return key in run.asset_selection
    repository = context.repository_def
    if repository is None or not repository.has_job(run.job_name):
        return False
    return key in repository.get_job(run.job_name).asset_layer.executable_asset_keys

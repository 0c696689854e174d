"""How the assets are run: the daily job and its schedule."""

from datetime import timedelta

from dagster import (
    AssetKey,
    AssetSelection,
    PartitionsDefinition,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    in_process_executor,
    schedule,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from analytics_assets.assets import GROUP_NAME
from analytics_assets.settings import load_settings

DAILY_JOB_NAME = "analytics_daily_job"
CHECKS_JOB_NAME = "analytics_checks_job"
DAILY_SCHEDULE_NAME = "analytics_daily_schedule"
# Ten minutes past midnight UTC: yesterday is complete, and late writes have had a moment.
DAILY_CRON = "10 0 * * *"


def build_daily_job() -> UnresolvedAssetJobDefinition:
    """The job over every asset of the group; its daily partitions come from the assets.

    It runs in process: the assets are one dlt run, so a step subprocess would only add start-up.
    """
    return define_asset_job(
        name=DAILY_JOB_NAME,
        selection=AssetSelection.groups(GROUP_NAME),
        executor_def=in_process_executor,
        description="Load one UTC day (or a range of days, as one run) of every API resource.",
    )


def build_checks_job(partitions_def: PartitionsDefinition) -> UnresolvedAssetJobDefinition:
    """The asset checks alone, for a day or a range, without loading anything again.

    With no asset selected, Dagster cannot infer the partitions, so they are given.
    """
    return define_asset_job(
        name=CHECKS_JOB_NAME,
        selection=AssetSelection.groups(GROUP_NAME)
        - AssetSelection.groups(GROUP_NAME).without_checks(),
        executor_def=in_process_executor,
        partitions_def=partitions_def,
        description="Run the asset checks of the analytics tables for a day or a range.",
    )


def build_child_job(child_key: AssetKey) -> UnresolvedAssetJobDefinition:
    """The job an asset sensor launches for a child resource alone (`file_contents`).

    Named `analytics_<resource>_job`, such as `analytics_file_contents_job`.
    """
    name = child_key.path[-1]
    return define_asset_job(
        name=f"analytics_{name}_job",
        selection=AssetSelection.assets(child_key),
        executor_def=in_process_executor,
        description=f"Load {name} for a day whose parent records are already loaded.",
    )


def build_daily_schedule(
    job: UnresolvedAssetJobDefinition, partitions_def: PartitionsDefinition
) -> ScheduleDefinition:
    """Every day at 00:10 UTC, load yesterday and the look-back days before it, as one run.

    The look-back (setting `lookback_days`, default 1) re-syncs records that changed after the
    day they were created, such as a batch created late yesterday that finished today.
    """

    @schedule(
        name=DAILY_SCHEDULE_NAME,
        job=job,
        cron_schedule=DAILY_CRON,
        execution_timezone="UTC",
        description="Yesterday's partition plus the look-back window, in one run.",
    )
    def analytics_daily_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        yesterday = (context.scheduled_execution_time - timedelta(days=1)).date()
        first_day = yesterday - timedelta(days=load_settings().lookback_days)
        keys = partitions_def.get_partition_keys(dynamic_partitions_store=None)
        wanted = [key for key in keys if first_day.isoformat() <= key <= yesterday.isoformat()]
        if not wanted:
            return SkipReason(f"no partition between {first_day} and {yesterday}")
        first, last = wanted[0], wanted[-1]
        if first == last:
            return RunRequest(run_key=last, partition_key=last)
        return RunRequest(
            run_key=f"{first}...{last}",
            tags={
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": last,
            },
        )

    return analytics_daily_schedule

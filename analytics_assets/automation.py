"""How the assets are run: the daily job."""

from dagster import (
    AssetSelection,
    PartitionsDefinition,
    define_asset_job,
    in_process_executor,
)

from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from analytics_assets.assets import GROUP_NAME

DAILY_JOB_NAME = "analytics_daily_job"


def build_daily_job(partitions_def: PartitionsDefinition) -> UnresolvedAssetJobDefinition:
    """The job over all five assets, partitioned by UTC day.

    It runs in process: the assets are one dlt run, so a step subprocess would only add start-up.
    """
    return define_asset_job(
        name=DAILY_JOB_NAME,
        selection=AssetSelection.groups(GROUP_NAME),
        partitions_def=partitions_def,
        executor_def=in_process_executor,
        description="Load one UTC day (or a range of days, as one run) of every API resource.",
    )

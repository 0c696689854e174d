"""How the assets are run: the daily job."""

from dagster import (
    AssetSelection,
    define_asset_job,
    in_process_executor,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from analytics_assets.assets import GROUP_NAME

DAILY_JOB_NAME = "analytics_daily_job"


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

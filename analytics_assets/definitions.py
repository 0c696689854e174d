"""The one Definitions object of the code location, loaded lazily by Dagster."""

from dagster import Definitions, definitions
from dagster_dlt import DagsterDltResource

from analytics_assets.assets import build_analytics_assets
from analytics_assets.automation import build_daily_job
from analytics_assets.declaration import parse_declaration
from analytics_assets.partitions import SyncWindow, daily_partitions
from analytics_assets.resources_spec import ANALYTICS_API
from analytics_assets.settings import load_settings
from analytics_assets.source import build_source


@definitions
def defs() -> Definitions:
    """Build the assets, job and resources from the declaration and the current settings.

    Dagster calls this when it loads the code location, so settings are read then, not at import.
    """
    declaration = parse_declaration(ANALYTICS_API)
    settings = load_settings()
    partitions_def = daily_partitions(settings.start_date)
    described_source = build_source(
        declaration, settings, SyncWindow(settings.start_date, settings.start_date)
    )
    return Definitions(
        assets=[build_analytics_assets(declaration, partitions_def, described_source)],
        jobs=[build_daily_job(partitions_def)],
        resources={"dlt": DagsterDltResource()},
    )

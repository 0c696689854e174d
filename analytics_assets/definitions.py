"""The one Definitions object of the code location, loaded lazily by Dagster."""

from collections.abc import Mapping
from typing import Any

from dagster import Definitions, definitions, in_process_executor
from dagster_dlt import DagsterDltResource

from analytics_assets.assets import asset_key, build_analytics_assets
from analytics_assets.automation import (
    build_checks_job,
    build_child_job,
    build_daily_job,
    build_daily_schedule,
)
from analytics_assets.checks import build_asset_checks
from analytics_assets.declaration import parse_declaration
from analytics_assets.partitions import SyncWindow, daily_partitions
from analytics_assets.resources_spec import ANALYTICS_API
from analytics_assets.sensors import build_child_sensor
from analytics_assets.settings import load_settings
from analytics_assets.source import build_source


def build_definitions(raw_declaration: Mapping[str, Any] = ANALYTICS_API) -> Definitions:
    """Build the assets, job and resources from a declaration and the current settings.

    Raises:
        DeclarationError: the declaration is not supported (names the resource and key).
        AnalyticsSettingsError: a setting is missing or malformed (names the setting).
    """
    declaration = parse_declaration(raw_declaration)
    settings = load_settings()
    partitions_def = daily_partitions(settings.start_date)
    described_source = build_source(
        declaration, settings, SyncWindow(settings.start_date, settings.start_date)
    )
    daily_job = build_daily_job()
    sensors = []
    jobs = [daily_job, build_checks_job(partitions_def)]
    for resource in declaration.resources:
        if resource.parent is not None:
            child_job = build_child_job(asset_key(resource.name))
            jobs.append(child_job)
            sensors.append(
                build_child_sensor(
                    asset_key(resource.parent.stream), asset_key(resource.name), child_job
                )
            )
    return Definitions(
        assets=[build_analytics_assets(declaration, partitions_def, described_source)],
        asset_checks=[build_asset_checks(declaration, partitions_def)],
        jobs=jobs,
        schedules=[build_daily_schedule(daily_job, partitions_def)],
        sensors=sensors,
        resources={"dlt": DagsterDltResource()},
        # Also for what the UI launches ("Materialize", backfills): the assets are one dlt
        # run, so a subprocess per step would only add its start-up.
        executor=in_process_executor,
    )


@definitions
def defs() -> Definitions:
    """The code location's definitions.

    Dagster calls this when it loads the location, so settings are read then, never at import.
    """
    return build_definitions()

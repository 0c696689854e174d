"""The five API resources as Dagster software-defined assets, built with dagster-dlt."""

import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    MetadataValue,
    Out,
    PartitionsDefinition,
    TableColumn,
    TableColumnConstraints,
    TableSchema,
)
from dagster._core.definitions.metadata.metadata_set import TableMetadataSet
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData
from dlt.extract import DltSource

from analytics_assets.declaration import ApiDeclaration
from analytics_assets.destination import (
    DATASET_NAME,
    DESTINATION_POOL,
    analytics_pipeline,
    definitions_pipeline,
    loader_file_format,
    single_writer,
)
from analytics_assets.http import RequestStats, retrying_session
from analytics_assets.partitions import check_partition_range, sync_window
from analytics_assets.progress import RunProgress
from analytics_assets.settings import load_settings
from analytics_assets.source import build_source, retry_policy, shared_readers
from analytics_assets.table_queries import partition_row_counts

KEY_PREFIX = "analytics"
DLT_HANDLE_PREFIX = "dagster_dlt/"
GROUP_NAME = "analytics"


@dataclass
class AnalyticsTranslator(DagsterDltTranslator):
    """Maps each declared resource to `analytics/<name>` in group `analytics`.

    A resource routed by a parent stream depends on the parent's asset (dagster-dlt's default
    would point it at an external `<source>_<root resource>` key instead).
    """

    declaration: ApiDeclaration | None = None

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        """The asset spec of one dlt resource, described from the declaration."""
        assert self.declaration is not None
        spec = super().get_asset_spec(data)
        resource = self.declaration.resource(data.resource.name)
        deps = [asset_key(resource.parent.stream)] if resource.parent else []
        column_schema = TableSchema(
            columns=[
                TableColumn(
                    name=column.name,
                    type=column.data_type,
                    constraints=TableColumnConstraints(
                        nullable=column.nullable, unique=column.name == resource.primary_key
                    ),
                )
                for column in resource.columns
            ]
        )
        return spec.replace_attributes(
            key=asset_key(resource.name),
            deps=deps,
            group_name=GROUP_NAME,
            description=resource.description,
            owners=[*spec.owners, *resource.owners],
            tags={**spec.tags, **resource.tags},
            metadata={
                **spec.metadata,
                **TableMetadataSet(
                    column_schema=column_schema, table_name=f"{DATASET_NAME}.{resource.name}"
                ),
            },
        )


def asset_key(resource_name: str) -> AssetKey:
    """The asset key of a declared resource: `analytics/<name>`."""
    return AssetKey([KEY_PREFIX, resource_name])


def build_analytics_assets(
    declaration: ApiDeclaration,
    partitions_def: PartitionsDefinition,
    described_source: DltSource,
) -> AssetsDefinition:
    """One multi-asset over every declared resource, partitioned by day.

    Args:
        declaration: the parsed declaration.
        partitions_def: the daily partitions.
        described_source: a source built from the declaration, only read for its resources;
            each run builds its own source for its window.
    """
    translator = AnalyticsTranslator(declaration=declaration)

    @dlt_assets(
        dlt_source=described_source,
        dlt_pipeline=definitions_pipeline(),
        name="analytics_api",
        dagster_dlt_translator=translator,
        partitions_def=partitions_def,
        pool=DESTINATION_POOL,
    )
    def analytics_api(context: AssetExecutionContext, dlt: DagsterDltResource) -> Iterator[Any]:
        check_partition_range(partitions_def, context.partition_key_range)
        settings = load_settings()
        settings.require_api_key()
        window = sync_window(context.partition_time_window, settings.start_date)
        context.log.info(f"Loading cursor window {window} from {settings.base_url}")
        stats = RequestStats()
        progress = RunProgress(log=context.log.info, report_every_seconds=settings.progress_seconds)
        session = retrying_session(
            retry_policy(declaration, settings),
            timeout_seconds=settings.request_timeout,
            max_connections=max(16, settings.content_concurrency),
            stats=stats,
            log=context.log.warning,
        )
        source = build_source(declaration, settings, window, session=session, progress=progress)
        readers = shared_readers(declaration)
        with tempfile.TemporaryDirectory(prefix="analytics-dlt-run-") as pipelines_dir:
            pipeline = analytics_pipeline(pipelines_dir)
            with single_writer(pipeline, context.log.info):
                rows_by_day = None
                for result in dlt.run(
                    context=context,
                    dlt_source=source,
                    dlt_pipeline=pipeline,
                    dagster_dlt_translator=translator,
                    loader_file_format=loader_file_format(pipeline),
                ):
                    if rows_by_day is None:
                        # dagster-dlt yields its first result once everything is loaded.
                        with pipeline.sql_client() as sql:
                            rows_by_day = partition_row_counts(sql, declaration, window)
                    name = result.asset_key.path[-1]
                    for partition in context.partition_keys:
                        context.add_asset_metadata(
                            {
                                "dagster/partition_row_count": MetadataValue.int(
                                    rows_by_day[name].get(partition, 0)
                                )
                            },
                            asset_key=result.asset_key,
                            partition_key=partition,
                        )
                    reader = readers.get(name, name)
                    metadata = {
                        "window": MetadataValue.text(str(window)),
                        "window_start": MetadataValue.timestamp(window.start),
                        "window_end": MetadataValue.timestamp(window.end),
                        "pages_read": MetadataValue.int(progress.pages[reader]),
                        "records_read": MetadataValue.int(progress.records[reader]),
                        "run_requests": MetadataValue.int(stats.requests),
                        "run_retries": MetadataValue.int(stats.retries),
                    }
                    yield result._replace(metadata={**(result.metadata or {}), **metadata})
        context.log.info(
            f"Read {progress.summary()}; sent {stats.requests} requests, {stats.retries} retries"
        )

    return _without_dlt_handles(analytics_api)


def _without_dlt_handles(assets_def: AssetsDefinition) -> AssetsDefinition:
    """The same assets without dagster-dlt's `dagster_dlt/*` metadata entries.

    dagster-dlt stores the source, pipeline and translator objects as metadata of every spec and
    of the op's outputs so that its resource can find them; this project's run passes all three
    explicitly, and as metadata they only show in the UI as "(unserializable)". Dagster merges the
    outputs' metadata back into the specs, so both are rebuilt.
    """

    def kept(metadata: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in metadata.items() if not k.startswith(DLT_HANDLE_PREFIX)}

    op = assets_def.op
    outs = {
        output.name: Out.from_definition(output)._replace(metadata=kept(output.metadata))
        for output in op.output_defs
    }
    return AssetsDefinition.dagster_internal_init(
        **{
            **assets_def.get_attributes_dict(),
            "node_def": op.with_replaced_properties(name=op.name, outs=outs),
            "specs": [
                spec.replace_attributes(metadata=kept(spec.metadata)) for spec in assets_def.specs
            ],
        }
    )

"""Asset checks that read what landed in the destination, for the run's window.

Per table: the primary key is unique and never null within the window. Per child table
(`file_contents`): every parent record of the window (each file) has its row. Per asset: the
newest materialized day is no older than `freshness_days`. A failing check carries the offending
keys in its metadata; none of them blocks the run.
"""

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    PartitionsDefinition,
    multi_asset_check,
)

from analytics_assets.assets import asset_key
from analytics_assets.declaration import ApiDeclaration, ResourceDeclaration
from analytics_assets.destination import analytics_pipeline, single_writer
from analytics_assets.partitions import SyncWindow, sync_window
from analytics_assets.settings import load_settings
from analytics_assets.table_queries import existing_tables, window_filter

PRIMARY_KEY_CHECK = "primary_key_unique_and_not_null"
CHILD_ROWS_CHECK = "every_parent_record_has_its_row"
FRESHNESS_CHECK = "newest_day_is_fresh"
_SHOWN_KEYS = 20


def build_asset_checks(
    declaration: ApiDeclaration, partitions_def: PartitionsDefinition
) -> AssetChecksDefinition:
    """One multi-asset check over every declared resource, run by the daily job."""
    specs = []
    for resource in declaration.resources:
        key = asset_key(resource.name)
        specs.append(
            AssetCheckSpec(
                PRIMARY_KEY_CHECK,
                asset=key,
                partitions_def=partitions_def,
                description=f"{resource.primary_key!r} is unique and not null in the run's days.",
            )
        )
        if resource.parent is not None:
            specs.append(
                AssetCheckSpec(
                    CHILD_ROWS_CHECK,
                    asset=key,
                    partitions_def=partitions_def,
                    additional_deps=[asset_key(resource.parent.stream)],
                    description=f"Every {resource.parent.stream} record of the run's days has "
                    f"its {resource.name} row.",
                )
            )
        specs.append(
            AssetCheckSpec(
                FRESHNESS_CHECK,
                asset=key,
                partitions_def=partitions_def,
                description="The newest materialized day is no older than freshness_days.",
            )
        )

    @multi_asset_check(specs=specs, can_subset=True, name="analytics_checks")
    def analytics_checks(context: AssetCheckExecutionContext) -> Iterator[AssetCheckResult]:
        settings = load_settings()
        window = sync_window(
            context.op_execution_context.partition_time_window, settings.start_date
        )
        selected = context.selected_asset_check_keys
        with tempfile.TemporaryDirectory(prefix="analytics-dlt-checks-") as pipelines_dir:
            pipeline = analytics_pipeline(pipelines_dir)
            with single_writer(pipeline, context.log.debug), pipeline.sql_client() as sql:
                tables = existing_tables(sql)
                for resource in declaration.resources:
                    key = asset_key(resource.name)
                    for check in (PRIMARY_KEY_CHECK, CHILD_ROWS_CHECK):
                        if not any(c.asset_key == key and c.name == check for c in selected):
                            continue
                        yield _run_sql_check(check, sql, tables, declaration, resource, window)
        for check_key in selected:
            if check_key.name == FRESHNESS_CHECK:
                yield _freshness(context, check_key.asset_key, settings.freshness_days)

    return analytics_checks


def _run_sql_check(
    check: str,
    sql,
    tables: set[str],
    declaration: ApiDeclaration,
    resource: ResourceDeclaration,
    window: SyncWindow,
) -> AssetCheckResult:
    key = asset_key(resource.name)
    if resource.name not in tables:
        return AssetCheckResult(
            check_name=check,
            asset_key=key,
            passed=True,
            metadata={"note": f"table {resource.name} holds no rows yet"},
        )
    table = sql.make_qualified_table_name(resource.name)
    in_window, params = window_filter(sql, declaration, resource, window, alias="t")
    if check == PRIMARY_KEY_CHECK:
        pk = sql.escape_column_name(resource.primary_key)
        rows = sql.execute_sql(
            f"select t.{pk}, count(*) from {table} t where {in_window} "
            f"group by t.{pk} having count(*) > 1 or t.{pk} is null",
            *params,
        )
        offending = [{"key": value, "rows": count} for value, count in rows or []]
        return _found_nothing(check, key, window, "offending_keys", "offending", offending)
    link = resource.parent
    assert link is not None
    parent = declaration.resource(link.stream)
    parent_table = sql.make_qualified_table_name(parent.name)
    parent_filter, parent_params = window_filter(sql, declaration, parent, window, alias="p")
    parent_key = sql.escape_column_name(link.parent_key)
    child_field = sql.escape_column_name(link.partition_field)
    rows = sql.execute_sql(
        f"select p.{parent_key} from {parent_table} p where {parent_filter} and not exists "
        f"(select 1 from {table} t where t.{child_field} = p.{parent_key})",
        *parent_params,
    )
    missing = [value for (value,) in rows or []]
    listed = f"{link.stream}_without_{resource.name}"
    return _found_nothing(check, key, window, "missing_rows", listed, missing)


def _found_nothing(
    check: str, key: AssetKey, window: SyncWindow, counted: str, listed: str, found: list[Any]
) -> AssetCheckResult:
    """Passes when the check's query found nothing; else counts what it found and lists some."""
    return AssetCheckResult(
        check_name=check,
        asset_key=key,
        passed=not found,
        metadata={
            "window": str(window),
            counted: len(found),
            listed: MetadataValue.json(found[:_SHOWN_KEYS]),
        },
    )


def _freshness(
    context: AssetCheckExecutionContext, key: AssetKey, freshness_days: int
) -> AssetCheckResult:
    materialized = context.instance.get_materialized_partitions(key)
    newest = max(materialized) if materialized else None
    today = datetime.now(UTC).date()
    age = (today - datetime.strptime(newest, "%Y-%m-%d").date()).days if newest else None
    return AssetCheckResult(
        check_name=FRESHNESS_CHECK,
        asset_key=key,
        passed=age is not None and age <= freshness_days,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "newest_day": newest or "none",
            "age_days": MetadataValue.int(age if age is not None else -1),
            "freshness_days": freshness_days,
        },
    )

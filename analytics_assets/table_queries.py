"""SQL over the destination's tables, derived from the declaration.

A list resource's rows of a window are those whose cursor is in it; a child resource's rows
(`file_contents`) are those of its parent's rows in the window. Identifiers are quoted by dlt's
SQL client; values are always parameters.
"""

from datetime import UTC, datetime
from typing import Any

from analytics_assets.declaration import ApiDeclaration, ResourceDeclaration
from analytics_assets.partitions import SyncWindow

DAY_SECONDS = 86_400


def existing_tables(sql: Any) -> set[str]:
    """The tables that exist in the pipeline's dataset."""
    rows = sql.execute_sql(
        "select table_name from information_schema.tables where table_schema = %s",
        sql.dataset_name,
    )
    return {name for (name,) in rows or []}


def lineage(
    declaration: ApiDeclaration, resource: ResourceDeclaration
) -> list[ResourceDeclaration]:
    """`resource`, then its parent, its parent's parent and so on, up to the first with a cursor.

    These are the tables whose rows decide which of `resource`'s rows belong to a window.
    """
    chain = [resource]
    while chain[-1].incremental is None:
        link = chain[-1].parent
        assert link is not None, "the declaration gives every resource a cursor or a parent"
        chain.append(declaration.resource(link.stream))
    return chain


def window_filter(
    sql: Any,
    declaration: ApiDeclaration,
    resource: ResourceDeclaration,
    window: SyncWindow,
    alias: str,
) -> tuple[str, list[int]]:
    """A SQL condition on `alias` (a row of `resource`'s table) for rows of `window`."""
    if resource.incremental is not None:
        cursor = f"{alias}.{sql.escape_column_name(resource.incremental.cursor_field)}"
        return f"{cursor} >= %s and {cursor} < %s", [window.start_seconds, window.end_seconds]
    link = resource.parent
    assert link is not None
    parent = declaration.resource(link.stream)
    parent_table = sql.make_qualified_table_name(parent.name)
    inner, params = window_filter(sql, declaration, parent, window, alias=f"{alias}_p")
    field = sql.escape_column_name(link.partition_field)
    parent_key = sql.escape_column_name(link.parent_key)
    return (
        f"{alias}.{field} in (select {alias}_p.{parent_key} from {parent_table} {alias}_p "
        f"where {inner})",
        params,
    )


def rows_per_day(
    sql: Any, declaration: ApiDeclaration, resource: ResourceDeclaration, window: SyncWindow
) -> dict[str, int]:
    """Rows of `resource`'s table in `window`, per UTC day (`YYYY-MM-DD`, the partition key).

    A child's row counts on the day of its parent record. Days without rows are left out.
    """
    joins = []
    alias = "t"
    *children, current = lineage(declaration, resource)
    for child in children:
        link = child.parent
        assert link is not None
        parent_alias = f"{alias}_p"
        joins.append(
            f"join {sql.make_qualified_table_name(link.stream)} {parent_alias} on "
            f"{alias}.{sql.escape_column_name(link.partition_field)} = "
            f"{parent_alias}.{sql.escape_column_name(link.parent_key)}"
        )
        alias = parent_alias
    in_window, params = window_filter(sql, declaration, current, window, alias=alias)
    cursor = f"{alias}.{sql.escape_column_name(current.incremental.cursor_field)}"
    day = f"cast(floor({cursor} / {DAY_SECONDS}.0) as bigint)"
    rows = sql.execute_sql(
        f"select {day}, count(*) from {sql.make_qualified_table_name(resource.name)} t "
        f"{' '.join(joins)} where {in_window} group by {day}",
        *params,
    )
    return {
        f"{datetime.fromtimestamp(number * DAY_SECONDS, UTC):%Y-%m-%d}": count
        for number, count in rows or []
    }


def partition_row_counts(
    sql: Any, declaration: ApiDeclaration, window: SyncWindow
) -> dict[str, dict[str, int]]:
    """For every declared resource, its table's rows in `window` per UTC day (see rows_per_day).

    A table that does not exist yet (nothing was ever loaded into it) has no rows.
    """
    tables = existing_tables(sql)
    counts = {}
    for resource in declaration.resources:
        present = {r.name for r in lineage(declaration, resource)} <= tables
        counts[resource.name] = rows_per_day(sql, declaration, resource, window) if present else {}
    return counts

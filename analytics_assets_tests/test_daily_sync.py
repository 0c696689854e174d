"""A run for a day loads exactly that day and reads the API no more than needed.

Reruns are idempotent, and a range of days in one run equals the union of its days.
"""

import math
from datetime import timedelta
from typing import Any

import pytest
from dagster import AssetKey

from analytics_assets_tests.api_emulator import ApiEmulator, EmulatorData, day
from analytics_assets_tests.conftest import (
    DAYS,
    FIRST_DAY,
    PAGE_LIMIT,
    TABLES,
    Warehouse,
    add_files_with_ids,
    jsonable,
    range_tags,
    run_daily_job,
    window,
)

DAY_KEYS = [f"{FIRST_DAY + timedelta(days=offset):%Y-%m-%d}" for offset in range(DAYS)]

# The same exactness tests, against DuckDB and against a real PostgreSQL server.
pytestmark = pytest.mark.parametrize(
    "destination", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def truth(data: EmulatorData, table: str, start: Any, end: Any) -> list[dict[str, Any]]:
    """The records of `table` the emulator holds for `[start, end)`."""
    if table == "models":
        return data.models_in(start, end)
    if table in ("files", "file_contents"):
        files = data.files_in(start, end)
        if table == "files":
            return files
        return [{**data.contents[f["id"]], "file_id": f["id"]} for f in files]
    return data.batches_in(start, end)


def landed_ids(warehouse: Warehouse, table: str) -> list[str]:
    return warehouse.ids(table, "uuid" if table == "file_contents" else "id")


def expected_ids(data: EmulatorData, table: str, start: Any, end: Any) -> list[str]:
    key = "uuid" if table == "file_contents" else "id"
    return sorted(record[key] for record in truth(data, table, start, end))


@pytest.mark.parametrize("partition", DAY_KEYS)
def test_a_day_loads_exactly_the_records_whose_cursor_is_in_that_day(
    partition, analytics_env, emulator_data, warehouse, dagster_instance
):
    result = run_daily_job(dagster_instance, partition=partition)
    assert result.success

    start, end = window(day(partition))
    for table in TABLES:
        assert landed_ids(warehouse, table) == expected_ids(emulator_data, table, start, end), table
        assert landed_ids(warehouse, table), f"the test data has no {table} on {partition}"


def test_a_record_at_exactly_midnight_belongs_to_the_new_day(
    analytics_env, emulator_data, warehouse, dagster_instance
):
    # The generator puts file 2 at 2024-03-02T00:00:00Z and file 1 at 2024-03-01T23:59:59Z.
    at_midnight, just_before = emulator_data.files[2], emulator_data.files[1]
    assert at_midnight["created_at"] == int(day("2024-03-02").timestamp())
    assert just_before["created_at"] == int(day("2024-03-02").timestamp()) - 1

    assert run_daily_job(dagster_instance, partition="2024-03-02").success

    landed = landed_ids(warehouse, "files")
    assert at_midnight["id"] in landed
    assert just_before["id"] not in landed


def test_every_value_lands_equal_and_typed_from_the_declared_schema(
    analytics_env, emulator_data, warehouse, dagster_instance
):
    assert run_daily_job(dagster_instance, partition="2024-03-02").success
    start, end = window(day("2024-03-02"))

    for table in ("models", "files", "batches"):
        expected = {r["id"]: r for r in truth(emulator_data, table, start, end)}
        for row in warehouse.rows(table):
            source = expected[row["id"]]
            for field, value in source.items():
                if isinstance(value, dict):  # nested objects land flattened by dlt
                    for inner, inner_value in value.items():
                        assert row[f"{field}__{inner}"] == inner_value, (table, field, inner)
                elif value is not None:
                    assert row[field] == value, (table, row["id"], field)

    contents = {r["uuid"]: r for r in truth(emulator_data, "file_contents", start, end)}
    rows = warehouse.rows("file_contents")
    assert {r["uuid"]: (jsonable(r["glossary"]), r["file_id"]) for r in rows} == {
        uuid: (record["glossary"], record["file_id"]) for uuid, record in contents.items()
    }
    assert any(r["glossary"] is None for r in rows), "a null glossary must land as NULL"

    files_types = warehouse.column_types("files")
    assert {k: files_types[k] for k in ("id", "created_at", "filename", "bytes", "purpose")} == {
        "id": "VARCHAR",
        "created_at": "BIGINT",
        "filename": "VARCHAR",
        "bytes": "BIGINT",
        "purpose": "VARCHAR",
    }
    assert warehouse.column_types("models")["created"] == "BIGINT"
    assert warehouse.column_types("batches")["created_at"] == "BIGINT"
    content_types = warehouse.column_types("file_contents")
    assert {k: content_types[k] for k in ("uuid", "glossary", "file_id")} == {
        "uuid": "VARCHAR",
        "glossary": "JSON",
        "file_id": "VARCHAR",
    }
    assert not [t for t in warehouse.tables() if t.startswith("file_contents__")]


def test_a_mid_day_start_date_clips_the_first_partition(
    analytics_env, monkeypatch, emulator_data, warehouse, dagster_instance
):
    monkeypatch.setenv("SOURCES__ANALYTICS__START_DATE", "2024-03-02T12:00:00Z")

    assert run_daily_job(dagster_instance, partition="2024-03-02").success

    start, end = day("2024-03-02") + timedelta(hours=12), day("2024-03-03")
    for table in TABLES:
        assert landed_ids(warehouse, table) == expected_ids(emulator_data, table, start, end), table
    all_day = expected_ids(emulator_data, "files", *window(day("2024-03-02")))
    assert len(landed_ids(warehouse, "files")) < len(all_day), "clipping must drop the morning"


def test_rerunning_a_day_never_duplicates_and_never_removes_other_days(
    analytics_env, emulator_data, warehouse, dagster_instance
):
    for partition in ("2024-03-02", "2024-03-03", "2024-03-02", "2024-03-02"):
        assert run_daily_job(dagster_instance, partition=partition).success

    start, end = window(day("2024-03-02"), days=2)
    for table in TABLES:
        landed = landed_ids(warehouse, table)
        assert len(landed) == len(set(landed)), f"duplicates in {table}"
        assert landed == expected_ids(emulator_data, table, start, end), table


def test_a_range_run_equals_the_union_of_its_days(
    analytics_env, emulator, emulator_data, warehouse, dagster_instance
):
    for partition in DAY_KEYS[:3]:
        assert run_daily_job(dagster_instance, partition=partition).success
    by_days = {table: landed_ids(warehouse, table) for table in TABLES}
    warehouse.reset()

    result = run_daily_job(dagster_instance, tags=range_tags("2024-03-01", "2024-03-03"))

    assert result.success
    materialized = {
        (event.materialization.asset_key, event.materialization.partition)
        for event in result.get_asset_materialization_events()
    }
    assert materialized == {
        (AssetKey(["analytics", table]), partition)
        for table in TABLES
        for partition in DAY_KEYS[:3]
    }, "a range of days runs as one run"
    start, end = window(FIRST_DAY, days=3)
    for table in TABLES:
        assert landed_ids(warehouse, table) == by_days[table], table
        assert landed_ids(warehouse, table) == expected_ids(emulator_data, table, start, end), table


def list_pages_needed(records_newest_first: list[dict[str, Any]], start: Any, limit: int) -> int:
    """Pages a newest-first reader needs: up to and including the first record below `start`."""
    newer_or_equal = sum(1 for r in records_newest_first if r["created_at"] >= start.timestamp())
    return min(newer_or_equal // limit + 1, math.ceil(len(records_newest_first) / limit))


def newest_first(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=lambda r: (r["created_at"], r["id"]), reverse=True)


@pytest.mark.parametrize("partition", DAY_KEYS)
def test_the_requests_sent_page_newest_first_and_stop_past_the_window(
    partition, analytics_env, emulator: ApiEmulator, emulator_data, dagster_instance
):
    assert run_daily_job(dagster_instance, partition=partition).success
    start, end = window(day(partition))

    models = emulator.requests_to("/v1/models")
    assert [r.query for r in models] == [{}], "models is one page, with no query parameters"

    for path, records, first_query in (
        ("/v1/files", emulator_data.files, {"limit": str(PAGE_LIMIT), "order": "desc"}),
        ("/v1/batches", emulator_data.batches, {"limit": str(PAGE_LIMIT)}),
    ):
        ordered = newest_first(records)
        pages = list_pages_needed(ordered, start, PAGE_LIMIT)
        sent = emulator.requests_to(path)
        # /v1/batches feeds both `batches` and `batch_results`: it is read once.
        assert len(sent) == pages, path
        assert sent[0].query == first_query
        for number, request in enumerate(sent[1:], start=1):
            last_of_previous_page = ordered[number * PAGE_LIMIT - 1]["id"]
            assert request.query == {**first_query, "after": last_of_previous_page}

    content_requests = [r for r in emulator.requests if r.path.endswith("/content")]
    assert sorted(r.path for r in content_requests) == sorted(
        f"/v1/files/{f['id']}/content" for f in emulator_data.files_in(start, end)
    )
    assert all(r.status == 200 and r.authorized for r in emulator.requests)


def test_without_a_configured_limit_each_endpoint_is_read_in_its_largest_pages(
    analytics_env, monkeypatch, emulator: ApiEmulator, emulator_data, warehouse, dagster_instance
):
    monkeypatch.delenv("SOURCES__ANALYTICS__LIMIT")
    partition = "2024-03-02"

    assert run_daily_job(dagster_instance, partition=partition).success

    # 120 files fit one page of 10000; 60 batches need one page of 100.
    assert [r.query for r in emulator.requests_to("/v1/files")] == [
        {"limit": "10000", "order": "desc"}
    ]
    assert [r.query for r in emulator.requests_to("/v1/batches")] == [{"limit": "100"}]
    start, end = window(day(partition))
    assert warehouse.ids("files") == sorted(f["id"] for f in emulator_data.files_in(start, end))


def test_file_ids_are_percent_encoded_as_one_path_segment(
    analytics_env, emulator: ApiEmulator, emulator_data, warehouse, dagster_instance
):
    odd_ids = ["file-a/b", "file-c?d=1", "file-e#f", "file-100%", "file with spaces", ".."]
    base = int(day("2024-03-02").timestamp()) + 3600
    add_files_with_ids(emulator, emulator_data, odd_ids, base)

    assert run_daily_job(dagster_instance, partition="2024-03-02").success

    served = {r.path for r in emulator.requests}
    assert {
        "/v1/files/file-a%2Fb/content",
        "/v1/files/file-c%3Fd%3D1/content",
        "/v1/files/file-e%23f/content",
        "/v1/files/file-100%25/content",
        "/v1/files/file%20with%20spaces/content",
        "/v1/files/%2E%2E/content",
    } <= served
    rows = {r["file_id"]: jsonable(r["glossary"]) for r in warehouse.rows("file_contents")}
    assert {file_id: rows[file_id] for file_id in odd_ids} == {
        file_id: {"term": file_id} for file_id in odd_ids
    }

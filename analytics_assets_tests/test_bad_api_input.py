"""Bad input from the API: each case has a defined outcome.

That is a clear error, or the record kept as it is; nothing is silently dropped or coerced.
"""

import copy

import pytest

from analytics_assets_tests.api_emulator import ApiEmulator, EmulatorData, Fault, day
from analytics_assets_tests.conftest import (
    TABLES,
    Warehouse,
    add_files_with_ids,
    failure_text,
    jsonable,
    run_daily_job,
    window,
)

DAY = "2024-03-02"


def first_file_of_the_day(data: EmulatorData) -> dict:
    return data.files_in(*window(day(DAY)))[0]


def first_batch_of_the_day(data: EmulatorData) -> dict:
    return data.batches_in(*window(day(DAY)))[0]


def assert_nothing_landed(warehouse: Warehouse) -> None:
    assert not warehouse.path.exists() or not set(TABLES) & set(warehouse.tables())


@pytest.mark.parametrize(
    ("corrupt", "words"),
    [
        pytest.param(
            lambda data: first_file_of_the_day(data).update(created_at="1709337600"),
            "resource 'files': record 'file-{id}': field 'created_at' is '1709337600' (str), "
            "which cannot be stored as the declared integer",
            id="cursor-of-the-wrong-type",
        ),
        pytest.param(
            lambda data: first_file_of_the_day(data).update(bytes="lots"),
            "resource 'files': record 'file-{id}': field 'bytes' is 'lots' (str), which cannot "
            "be stored as the declared integer",
            id="value-not-coercible",
        ),
        pytest.param(
            lambda data: first_batch_of_the_day(data).update(id=None),
            "resource 'batches': record None: field 'id' is null",
            id="null-primary-key",
        ),
    ],
)
def test_a_record_that_breaks_the_declaration_fails_the_run_naming_resource_record_and_field(
    corrupt, words, analytics_env, emulator: ApiEmulator, emulator_data, warehouse, dagster_instance
):
    file_id = first_file_of_the_day(emulator_data)["id"]
    corrupt(emulator_data)
    emulator.reindex()

    result = run_daily_job(dagster_instance, partition=DAY)

    assert not result.success
    assert words.replace("file-{id}", file_id) in failure_text(result)
    assert_nothing_landed(warehouse)


def without_cursor_in_first_record(page: dict) -> dict:
    first, *rest = page["data"]
    return {**page, "data": [{k: v for k, v in first.items() if k != "created_at"}, *rest]}


def test_a_record_without_its_cursor_fails_the_run_naming_it(
    analytics_env, emulator, emulator_data, warehouse, dagster_instance
):
    emulator.faults.inject(
        Fault("corrupt", transform=without_cursor_in_first_record), path="/v1/files", times=None
    )
    newest = max(emulator_data.files, key=lambda f: (f["created_at"], f["id"]))

    result = run_daily_job(dagster_instance, partition=DAY)

    assert not result.success
    assert (
        f"resource 'files': record '{newest['id']}': field 'created_at' is missing, but the "
        "declaration requires it"
    ) in failure_text(result)
    assert_nothing_landed(warehouse)


@pytest.mark.parametrize(
    ("path", "transform", "words"),
    [
        pytest.param(
            "/v1/files",
            lambda page: {**page, "data": {"first": page["data"][0]}},
            "resource 'files': GET /v1/files returned 'data' as dict, expected a list of records",
            id="data-not-a-list",
        ),
        pytest.param(
            "/v1/batches",
            lambda page: {k: v for k, v in page.items() if k != "has_more"},
            "resource 'batches': GET /v1/batches returned a page whose 'has_more' is None, "
            "expected true or false",
            id="page-without-has-more",
        ),
    ],
)
def test_a_malformed_page_fails_the_run_clearly(
    path, transform, words, analytics_env, emulator, warehouse, dagster_instance
):
    emulator.faults.inject(Fault("corrupt", transform=transform), path=path, times=None)

    result = run_daily_job(dagster_instance, partition=DAY)

    assert not result.success
    assert words in failure_text(result)
    assert_nothing_landed(warehouse)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("plain text, not json", id="non-json"),
        pytest.param(
            '{"uuid": "a", "glossary": null}\n{"uuid": "b", "glossary": null}\n', id="json-lines"
        ),
    ],
)
def test_file_content_that_is_not_one_json_document_fails_the_run_clearly(
    body, analytics_env, emulator, emulator_data, warehouse, dagster_instance
):
    file_id = first_file_of_the_day(emulator_data)["id"]
    emulator.faults.inject(
        Fault("not_json", text=body), path=f"/v1/files/{file_id}/content", times=None
    )

    result = run_daily_job(dagster_instance, partition=DAY)

    assert not result.success
    assert (
        f"resource 'file_contents': GET /v1/files/{file_id}/content returned a body that is not "
        "one JSON document"
    ) in failure_text(result)
    assert len(emulator.requests_to(f"/v1/files/{file_id}/content")) == 1, "not retried"
    assert_nothing_landed(warehouse)


def test_unicode_nulls_and_undeclared_fields_land_as_they_are(
    analytics_env, emulator, emulator_data, warehouse, dagster_instance
):
    file = first_file_of_the_day(emulator_data)
    content = emulator_data.contents.pop(file["id"])
    file["id"] = "file-ünïcødé-😀-文件"
    file["filename"] = "résumé 📄 «données».jsonl"
    file["purpose"] = None
    file["bytes"] = None
    file["owner_team"] = "équipe-北京"
    emulator_data.contents[file["id"]] = {
        **content,
        "glossary": {"term": "naïve café ☕", "see_also": ["日本語", None, "emoji 🎉"]},
    }
    batch = first_batch_of_the_day(emulator_data)
    batch["status"] = None
    batch["completion_window"] = None
    emulator.reindex()
    expected_file = copy.deepcopy(file)

    assert run_daily_job(dagster_instance, partition=DAY).success

    landed = {row["id"]: row for row in warehouse.rows("files")}[expected_file["id"]]
    assert landed["filename"] == expected_file["filename"]
    assert landed["purpose"] is None
    assert landed["bytes"] is None
    assert landed["owner_team"] == "équipe-北京", "an undeclared field lands as a new column"
    contents = {row["file_id"]: row for row in warehouse.rows("file_contents")}
    assert jsonable(contents[expected_file["id"]]["glossary"]) == {
        "term": "naïve café ☕",
        "see_also": ["日本語", None, "emoji 🎉"],
    }
    batches = {row["id"]: row for row in warehouse.rows("batches")}
    assert batches[batch["id"]]["status"] is None
    assert batches[batch["id"]]["completion_window"] is None


def test_odd_file_ids_never_reach_another_endpoint(
    analytics_env, emulator: ApiEmulator, emulator_data, dagster_instance
):
    base = int(day(DAY).timestamp()) + 7200
    odd_ids = ["../../v1/models", "a/../../batches", "?after=x", "#top", "%2F", " ", ".", ".."]
    add_files_with_ids(emulator, emulator_data, odd_ids, base)

    assert run_daily_job(dagster_instance, partition=DAY).success

    content_paths = [r.path for r in emulator.requests if r.path.endswith("/content")]
    assert len(content_paths) == len(emulator_data.files_in(*window(day(DAY))))
    for request in emulator.requests:
        segments = request.path.split("/")
        assert request.path in ("/v1/models", "/v1/files", "/v1/batches") or (
            len(segments) == 5 and segments[:3] == ["", "v1", "files"] and segments[4] == "content"
        ), request.path
        assert not request.query or request.path in ("/v1/files", "/v1/batches")

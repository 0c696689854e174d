"""The declaration is the single source of truth.

Unsupported keys fail at load with a clear error; a new list resource is a declaration edit.
"""

import copy
from typing import Any

import pytest
from dagster import AssetKey

from analytics_assets.automation import DAILY_JOB_NAME
from analytics_assets.declaration import DeclarationError, parse_declaration
from analytics_assets.definitions import build_definitions
from analytics_assets.resources_spec import ANALYTICS_API
from analytics_assets_tests.api_emulator import day
from analytics_assets_tests.conftest import Warehouse, window


def edited(edit) -> dict[str, Any]:
    declaration = copy.deepcopy(ANALYTICS_API)
    edit(declaration)
    return declaration


def resource(declaration: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in declaration["resources"] if r["name"] == name)


def test_the_seed_declaration_parses_into_five_resources():
    parsed = parse_declaration(ANALYTICS_API)

    assert [r.name for r in parsed.resources] == [
        "models",
        "files",
        "file_contents",
        "batches",
        "batch_results",
    ]
    contents = parsed.resource("file_contents")
    assert (
        contents.parent.stream,
        contents.parent.parent_key,
        contents.parent.partition_field,
    ) == (
        "files",
        "id",
        "file_id",
    )
    assert contents.primary_key == "uuid"
    assert contents.data_selector == "$"
    assert parsed.retry.retry_statuses == (429, 500, 502, 503, 504)
    assert (parsed.retry.max_retries, parsed.retry.backoff_factor) == (3, 2.0)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        pytest.param(
            lambda d: resource(d, "files")["endpoint"].update(pth="/v1/files"),
            "resource 'files': endpoint: unknown key 'pth'",
            id="unknown-endpoint-key",
        ),
        pytest.param(
            lambda d: resource(d, "batches").update(cursor="created_at"),
            "resource 'batches': unknown key 'cursor'",
            id="unknown-resource-key",
        ),
        pytest.param(
            lambda d: resource(d, "models")["incremental_sync"].update(type="min_max_cursor"),
            "resource 'models': incremental_sync.type 'min_max_cursor' is not supported",
            id="unsupported-incremental-type",
        ),
        pytest.param(
            lambda d: resource(d, "file_contents")["partition_router"].update(
                type="ListPartitionRouter"
            ),
            "resource 'file_contents': partition_router.type 'ListPartitionRouter' is not",
            id="unsupported-router-type",
        ),
        pytest.param(
            lambda d: resource(d, "file_contents")["endpoint"].update(
                path="/v1/files/{{ stream_partition['file_uuid'] }}/content"
            ),
            "resource 'file_contents': endpoint.path names stream_partition['file_uuid'] but no "
            "partition_router.parent_stream_configs entry fills it",
            id="unfilled-partition-field",
        ),
        pytest.param(
            lambda d: resource(d, "file_contents").pop("partition_router"),
            "resource 'file_contents': endpoint.path names stream_partition['file_id']",
            id="template-without-router",
        ),
        pytest.param(
            lambda d: resource(d, "files")["endpoint"]["params"].update(
                limit="{{ config['page_size'] }}"
            ),
            "resource 'files': endpoint.params.limit names setting 'page_size'",
            id="unknown-setting",
        ),
        pytest.param(
            lambda d: d["schema"]["files"]["fields"].update(bytes="decimal"),
            "schema.files.fields.bytes: type 'decimal' is not supported",
            id="unsupported-field-type",
        ),
        pytest.param(
            lambda d: d["client"]["auth"].update(type="oauth2"),
            "client.auth.type 'oauth2' is not supported",
            id="unsupported-auth-type",
        ),
        pytest.param(
            lambda d: d.update(retries=3),
            "declaration: unknown key 'retries'",
            id="unknown-top-level-key",
        ),
        pytest.param(
            lambda d: resource(d, "files").update(owners=["data platform"]),
            "resource 'files': owner 'data platform' must be an email address or 'team:<name>'",
            id="bad-owner",
        ),
        pytest.param(
            lambda d: d["resource_defaults"].update(tags={"source": "analytics api"}),
            "resource_defaults: tags.source='analytics api': keys and values take letters",
            id="bad-tag-value",
        ),
        pytest.param(
            lambda d: d["schema"].pop("batches"),
            "resource 'batches': schema.batches is missing",
            id="missing-schema",
        ),
    ],
)
def test_an_unsupported_declaration_fails_at_load_naming_the_resource_and_key(edit, message):
    with pytest.raises(DeclarationError) as raised:
        parse_declaration(edited(edit))

    assert message in str(raised.value)


def test_an_unsupported_declaration_fails_when_definitions_load(analytics_env):
    broken = edited(lambda d: resource(d, "files")["endpoint"].update(pth="/v1/files"))

    with pytest.raises(DeclarationError, match="resource 'files': endpoint: unknown key 'pth'"):
        build_definitions(broken)


def add_batch_files(declaration: dict[str, Any]) -> None:
    """The whole change needed for a sixth list resource: two declaration entries."""
    declaration["resources"].append(
        {
            "name": "batch_input_files",
            "description": "Files uploaded for the Batch API.",
            "endpoint": {
                "path": "/v1/files",
                "data_selector": "data",
                "params": {"limit": "{{ config['limit'] }}", "order": "desc", "purpose": "batch"},
                "limit_max": 10000,
            },
            "incremental_sync": {
                "type": "datetime_cursor",
                "cursor_field": "created_at",
                "start_datetime": "{{ config['start_date'] }}",
                "datetime_format": "%Y-%m-%dT%H:%M:%SZ",
                "cursor_datetime_formats": ["%s"],
                "is_data_feed": True,
            },
        }
    )
    declaration["schema"]["batch_input_files"] = {
        "primary_key": "id",
        "fields": {"id": "string", "created_at": "integer", "filename": ["string", "null"]},
    }


def test_a_sixth_list_resource_is_a_declaration_edit_only(
    analytics_env, emulator, emulator_data, warehouse: Warehouse, dagster_instance
):
    defs = build_definitions(edited(add_batch_files))

    key = AssetKey(["analytics", "batch_input_files"])
    assert key in set(defs.resolve_asset_graph().get_all_asset_keys())
    result = defs.resolve_job_def(DAILY_JOB_NAME).execute_in_process(
        instance=dagster_instance, partition_key="2024-03-02"
    )
    assert result.success

    start, end = window(day("2024-03-02"))
    expected = sorted(
        f["id"] for f in emulator_data.files_in(start, end) if f["purpose"] == "batch"
    )
    assert expected, "the test data must hold batch files that day"
    assert warehouse.ids("batch_input_files") == expected
    assert warehouse.column_types("batch_input_files")["created_at"] == "BIGINT"
    assert any(r.query.get("purpose") == "batch" for r in emulator.requests_to("/v1/files"))

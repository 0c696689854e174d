"""The analytics API, declared once, in the shape of the user's seed configuration.

This is the single source of truth: the dlt source, the Dagster assets, their partitions and
column types are all derived from it (see `declaration.py` for the accepted keys).

Two kinds of template appear in values, as in the seed's Airbyte low-code style:

- `{{ config['name'] }}` is a setting read through dlt's config providers when a run starts
  (`api_key`, `base_url`, `start_date`, `limit`), never at import time.
- `{{ stream_partition['field'] }}` is a partition field filled from a parent record by the
  resource's `partition_router`, as Airbyte's `SubstreamPartitionRouter` does.

Where the seed is silent the declaration adds what the wire format says
(`../shared/spec/api-wire-format.md`): the cursor values are integer Unix seconds
(`cursor_datetime_formats: ["%s"]`), `/v1/files` and `/v1/batches` are newest-first feeds
(`is_data_feed`), and the largest page each endpoint accepts (`limit_max`).
"""

from typing import Any

_START_DATE = "{{ config['start_date'] }}"
_LIMIT = "{{ config['limit'] }}"


def _created_at_cursor(cursor_field: str, *, is_data_feed: bool) -> dict[str, Any]:
    return {
        "type": "datetime_cursor",
        "cursor_field": cursor_field,
        "start_datetime": _START_DATE,
        "datetime_format": "%Y-%m-%dT%H:%M:%SZ",
        "cursor_datetime_formats": ["%s"],
        "is_data_feed": is_data_feed,
    }


ANALYTICS_API: dict[str, Any] = {
    "client": {
        "base_url": "{{ config['base_url'] }}",
        "auth": {"type": "bearer", "token": "{{ config['api_key'] }}"},
        # List envelopes: repeat with after=<last_id> until has_more is false.
        "paginator": {
            "type": "cursor",
            "cursor_path": "last_id",
            "cursor_param": "after",
            "has_more_path": "has_more",
        },
    },
    "resource_defaults": {
        "primary_key": "id",
        "write_disposition": "merge",
        # Shown on every asset in the UI and usable in asset selections (`tag:source=...`).
        # `owners` (emails or 'team:<name>') can be set here or per resource as well.
        "tags": {"source": "analytics_api"},
    },
    "error_handler": {
        "type": "retry",
        "retry_statuses": [429, 500, 502, 503, 504],
        "max_retries": 3,
        "backoff_factor": 2,
    },
    "resources": [
        {
            "name": "models",
            "description": "Models the API offers, by the time they were created (`created`).",
            # One page with no `has_more`, in no particular order: filtered, never cut short.
            "endpoint": {"path": "/v1/models", "data_selector": "data", "paginator": "single_page"},
            "incremental_sync": _created_at_cursor("created", is_data_feed=False),
        },
        {
            "name": "files",
            "description": "Uploaded files, by the time they were created (`created_at`).",
            "endpoint": {
                "path": "/v1/files",
                "data_selector": "data",
                "params": {"limit": _LIMIT, "order": "desc"},
                "limit_max": 10000,
            },
            "incremental_sync": _created_at_cursor("created_at", is_data_feed=True),
        },
        {
            "name": "file_contents",
            "description": "The JSON document of each file of the day, keyed by its `uuid`.",
            "primary_key": "uuid",
            "endpoint": {
                "path": "/v1/files/{{ stream_partition['file_id'] }}/content",
                "data_selector": [],
            },
            "partition_router": {
                "type": "SubstreamPartitionRouter",
                "parent_stream_configs": [
                    {"stream": "files", "parent_key": "id", "partition_field": "file_id"}
                ],
            },
        },
        {
            "name": "batches",
            "description": "Batch jobs, by the time they were created (`created_at`).",
            "endpoint": {
                "path": "/v1/batches",
                "data_selector": "data",
                "params": {"limit": _LIMIT},
                "limit_max": 100,
            },
            "incremental_sync": _created_at_cursor("created_at", is_data_feed=True),
        },
        {
            "name": "batch_results",
            "description": "Batch jobs as the seed's `batch_results` stream: `/v1/batches` again.",
            "endpoint": {
                "path": "/v1/batches",
                "data_selector": "data",
                "params": {"limit": _LIMIT},
                "limit_max": 100,
            },
            "incremental_sync": _created_at_cursor("created_at", is_data_feed=True),
        },
    ],
    # The seed's schema section. Its "number" cursor and size fields are integers on the wire
    # (Unix seconds, byte counts), so they are declared as such to land as BIGINT.
    "schema": {
        "models": {
            "primary_key": "id",
            "fields": {
                "id": "string",
                "created": "integer",
                "object": ["string", "null"],
                "owned_by": ["string", "null"],
            },
        },
        "files": {
            "primary_key": "id",
            "fields": {
                "id": "string",
                "created_at": "integer",
                "filename": ["string", "null"],
                "bytes": ["integer", "null"],
                "purpose": ["string", "null"],
            },
        },
        "file_contents": {
            "primary_key": "uuid",
            "fields": {
                "uuid": "string",
                "glossary": ["object", "null"],
                "file_id": "string",
            },
        },
        "batches": {
            "primary_key": "id",
            "fields": {
                "id": "string",
                "created_at": "integer",
                "completion_window": ["string", "null"],
                "status": ["string", "null"],
            },
        },
        "batch_results": {
            "primary_key": "id",
            "fields": {
                "id": "string",
                "created_at": "integer",
                "completion_window": ["string", "null"],
                "status": ["string", "null"],
            },
        },
    },
}

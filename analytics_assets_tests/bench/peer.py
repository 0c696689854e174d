"""The peer: plain dlt `rest_api`, configured the obvious way from the seed, with dlt's defaults.

What it adds to the seed is only what dlt needs to read the API at all: the API's cursor
paginator (`after=<last_id>` while `has_more`), the seed's datetime cursors as dlt `incremental`
on the integer timestamps, and the seed's `{{ stream_partition['file_id'] }}` as dlt's
`{resources.files.id}`. Everything else (loader file format, retries, one request at a time for
the file contents) is dlt's default, run the way dagster-dlt's docs show a pipeline.

Run by the benchmark as `python -m analytics_assets_tests.bench.peer '<json args>'`.
"""

import json
import sys
import tempfile
import time
from typing import Any


def seed_source(base_url: str, api_key: str, start: int, limit: int) -> Any:
    """The seed's five resources as a plain dlt rest_api source."""
    from dlt.sources.rest_api import rest_api_source

    def cursor(field: str) -> dict[str, Any]:
        return {"cursor_path": field, "initial_value": start}

    return rest_api_source(
        {
            "client": {
                "base_url": base_url,
                "auth": {"type": "bearer", "token": api_key},
                "paginator": {
                    "type": "cursor",
                    "cursor_path": "last_id",
                    "cursor_param": "after",
                    "has_more_path": "has_more",
                },
            },
            "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
            "resources": [
                {
                    "name": "models",
                    "endpoint": {
                        "path": "/v1/models",
                        "data_selector": "data",
                        "paginator": "single_page",
                        "incremental": cursor("created"),
                    },
                },
                {
                    "name": "files",
                    "endpoint": {
                        "path": "/v1/files",
                        "data_selector": "data",
                        "incremental": cursor("created_at"),
                    },
                },
                {
                    "name": "file_contents",
                    "primary_key": "uuid",
                    "endpoint": {
                        "path": "/v1/files/{resources.files.id}/content",
                        "data_selector": "$",
                        "paginator": "single_page",
                    },
                },
                {
                    "name": "batches",
                    "endpoint": {
                        "path": "/v1/batches",
                        "data_selector": "data",
                        "params": {"limit": limit},
                        "incremental": cursor("created_at"),
                    },
                },
                {
                    "name": "batch_results",
                    "endpoint": {
                        "path": "/v1/batches",
                        "data_selector": "data",
                        "incremental": cursor("created_at"),
                    },
                },
            ],
        }
    )


def main(args: dict[str, Any]) -> dict[str, Any]:
    """Run the plain dlt pipeline into a fresh DuckDB file; report seconds and rows."""
    import dlt

    started = time.perf_counter()
    source = seed_source(args["base_url"], args["api_key"], args["window"][0], args["limit"])
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as pipelines_dir:
        pipeline = dlt.pipeline(
            pipeline_name="plain_dlt_peer",
            pipelines_dir=pipelines_dir,
            destination=dlt.destinations.duckdb(args["database"]),
            dataset_name="analytics",
        )
        pipeline.run(source)
        rows = {
            name: pipeline.last_trace.last_normalize_info.row_counts.get(name, 0)
            for name in ("models", "files", "file_contents", "batches", "batch_results")
        }
    return {"seconds": time.perf_counter() - started, "rows": rows}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))  # noqa: T201

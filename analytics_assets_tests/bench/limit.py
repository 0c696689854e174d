"""The limit: the same pages fetched with one keep-alive session, rows into DuckDB via Arrow.

Run by the benchmark as `python -m analytics_assets_tests.bench.limit '<json args>'`.
"""

import json
import sys
import time
from typing import Any


def main(args: dict[str, Any]) -> dict[str, Any]:
    """Fetch every list page of the window and write the rows; report seconds and rows."""
    import duckdb
    import pyarrow as pa
    import requests

    started = time.perf_counter()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {args['api_key']}"
    base_url = args["base_url"]
    low, high = args["window"]
    requests_sent = 0

    def pages(path: str, params: dict[str, Any], cursor: str) -> list[dict[str, Any]]:
        nonlocal requests_sent
        records: list[dict[str, Any]] = []
        query = dict(params)
        while True:
            response = session.get(base_url + path, params=query, timeout=60)
            response.raise_for_status()
            requests_sent += 1
            page = response.json()
            records.extend(r for r in page["data"] if low <= r[cursor] < high)
            if not page.get("has_more") or page["data"][-1][cursor] < low:
                return records
            query["after"] = page["last_id"]

    tables = {"models": pages("/v1/models", {}, "created")}
    tables["files"] = pages("/v1/files", {"limit": 10_000, "order": "desc"}, "created_at")
    tables["batches"] = tables["batch_results"] = pages("/v1/batches", {"limit": 100}, "created_at")
    with duckdb.connect(args["database"]) as connection:
        connection.execute("create schema if not exists analytics")
        for name, records in tables.items():
            arrow = pa.Table.from_pylist(records)  # noqa: F841 (read by DuckDB by name)
            connection.execute(f"create or replace table analytics.{name} as select * from arrow")
    return {
        "seconds": time.perf_counter() - started,
        "requests": requests_sent,
        "rows": {name: len(records) for name, records in tables.items()},
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))  # noqa: T201

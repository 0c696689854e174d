"""The baseline for file contents: the day's files listed, then each content fetched in turn.

One keep-alive session, no concurrency. Run by the benchmark as
`python -m analytics_assets_tests.bench.one_by_one '<json args>'`.
"""

import json
import sys
import time
from typing import Any
from urllib.parse import quote


def main(args: dict[str, Any]) -> dict[str, Any]:
    """Fetch the window's files and then their contents one by one; report seconds and count."""
    import requests

    started = time.perf_counter()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {args['api_key']}"
    low, high = args["window"]
    files: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": 10_000, "order": "desc"}
    while True:
        page = session.get(f"{args['base_url']}/v1/files", params=query, timeout=60).json()
        files.extend(f for f in page["data"] if low <= f["created_at"] < high)
        if not page["has_more"] or page["data"][-1]["created_at"] < low:
            break
        query["after"] = page["last_id"]
    for file in files:
        url = f"{args['base_url']}/v1/files/{quote(file['id'], safe='')}/content"
        session.get(url, timeout=60).raise_for_status()
    return {"seconds": time.perf_counter() - started, "items": len(files)}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))  # noqa: T201

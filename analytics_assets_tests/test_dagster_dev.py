"""`dagster dev` loads workspace.yaml, shows the five assets and materializes a partition.

This drives the webserver through the same GraphQL API the UI uses; the browser itself is
exercised by the UI tests.
"""

import time

import requests
from dagster import DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from analytics_assets_tests.api_emulator import day
from analytics_assets_tests.conftest import Warehouse, window

ASSET_GRAPH_QUERY = "{ assetNodes { assetKey { path } groupName dependencyKeys { path } } }"


def test_dagster_dev_shows_the_assets_and_materializes_a_partition(
    dagster_dev, emulator_data, warehouse: Warehouse
):
    graph = requests.post(
        f"{dagster_dev}/graphql", json={"query": ASSET_GRAPH_QUERY}, timeout=60
    ).json()["data"]["assetNodes"]
    nodes = {"/".join(n["assetKey"]["path"]): n for n in graph}
    assert set(nodes) == {
        "analytics/models",
        "analytics/files",
        "analytics/file_contents",
        "analytics/batches",
        "analytics/batch_results",
    }
    assert {n["groupName"] for n in nodes.values()} == {"analytics"}
    assert nodes["analytics/file_contents"]["dependencyKeys"] == [{"path": ["analytics", "files"]}]

    port = int(dagster_dev.rsplit(":", 1)[1])
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    run_id = client.submit_job_execution(
        "analytics_daily_job", tags={"dagster/partition": "2024-03-02"}
    )
    deadline = time.monotonic() + 240
    status = client.get_run_status(run_id)
    while status not in (
        DagsterRunStatus.SUCCESS,
        DagsterRunStatus.FAILURE,
        DagsterRunStatus.CANCELED,
    ):
        assert time.monotonic() < deadline, f"run {run_id} still {status} after 240 s"
        time.sleep(1)
        status = client.get_run_status(run_id)

    assert status == DagsterRunStatus.SUCCESS
    start, end = window(day("2024-03-02"))
    assert warehouse.ids("files") == sorted(f["id"] for f in emulator_data.files_in(start, end))

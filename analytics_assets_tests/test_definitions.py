"""What Dagster sees: the five fixed asset keys, their edge, partitions and the daily job."""

import copy
import subprocess
import sys

from dagster import AssetKey, DailyPartitionsDefinition
from dagster._core.remote_representation.external_data import RepositorySnap

import analytics_assets
from analytics_assets.automation import DAILY_JOB_NAME
from analytics_assets.definitions import build_definitions
from analytics_assets.resources_spec import ANALYTICS_API
from analytics_assets_tests.conftest import TABLES

EXPECTED_KEYS = {
    AssetKey(["analytics", name])
    for name in ("models", "files", "file_contents", "batches", "batch_results")
}


def test_the_code_location_has_exactly_the_five_asset_keys_in_group_analytics(analytics_env):
    defs = analytics_assets.defs()
    graph = defs.resolve_asset_graph()

    assert set(graph.get_all_asset_keys()) == EXPECTED_KEYS
    assert {graph.get(key).group_name for key in EXPECTED_KEYS} == {"analytics"}


def test_file_contents_depends_on_files_and_nothing_depends_on_an_external_key(analytics_env):
    graph = analytics_assets.defs().resolve_asset_graph()

    parents = {
        key.path[-1]: {p.path[-1] for p in graph.get(key).parent_keys} for key in EXPECTED_KEYS
    }
    assert parents == {
        "models": set(),
        "files": set(),
        "file_contents": {"files"},
        "batches": set(),
        "batch_results": set(),
    }
    assert set(graph.get_all_asset_keys()) == EXPECTED_KEYS, "no external asset was invented"


def test_partitions_are_utc_days_from_the_start_date(analytics_env, monkeypatch):
    monkeypatch.setenv("SOURCES__ANALYTICS__START_DATE", "2024-02-27T06:30:00Z")
    graph = analytics_assets.defs().resolve_asset_graph()

    partitions = graph.get(AssetKey(["analytics", "files"])).partitions_def
    assert isinstance(partitions, DailyPartitionsDefinition)
    assert partitions.timezone == "UTC"
    assert partitions.get_first_partition_key() == "2024-02-27"


def test_the_daily_job_covers_all_five_assets_with_daily_partitions(analytics_env):
    job = analytics_assets.defs().resolve_job_def(DAILY_JOB_NAME)

    assert set(job.asset_layer.executable_asset_keys) == EXPECTED_KEYS
    assert isinstance(job.partitions_def, DailyPartitionsDefinition)
    assert job.executor_def.name == "in_process"


def test_what_the_ui_launches_runs_in_process_too(analytics_env):
    repository = analytics_assets.defs().get_repository_def()

    implicit_job = repository.get_implicit_global_asset_job_def()

    assert implicit_job.executor_def.name == "in_process"


def test_asset_specs_carry_the_declared_column_schema_and_kinds(analytics_env):
    graph = analytics_assets.defs().resolve_asset_graph()

    node = graph.get(AssetKey(["analytics", "file_contents"]))
    schema = node.metadata["dagster/column_schema"]
    assert [(c.name, c.type, c.constraints.nullable) for c in schema.columns] == [
        ("uuid", "text", False),
        ("glossary", "json", True),
        ("file_id", "text", False),
    ]
    assert {"dlt", "duckdb"} <= set(node.kinds)
    assert node.description


def test_the_ui_sees_serializable_metadata_tags_and_owners_only(analytics_env, monkeypatch):
    declaration = copy.deepcopy(ANALYTICS_API)
    declaration["resource_defaults"]["owners"] = ["team:data-platform"]
    next(r for r in declaration["resources"] if r["name"] == "files")["tags"] = {"pii": "no"}
    defs = build_definitions(declaration)

    snapshot = RepositorySnap.from_def(defs.get_repository_def())

    nodes = {node.asset_key: node for node in snapshot.asset_nodes}
    for name in TABLES:
        node = nodes[AssetKey(["analytics", name])]
        assert not [k for k in node.metadata if k.startswith("dagster_dlt/")]
        assert not [k for k, v in node.metadata.items() if "unserializable" in str(v)]
        assert {"dagster/column_schema", "dagster/table_name"} <= set(node.metadata)
        assert node.owners == ["team:data-platform"]
        assert node.tags["source"] == "analytics_api"
    assert nodes[AssetKey(["analytics", "files"])].tags["pii"] == "no"
    assert "pii" not in nodes[AssetKey(["analytics", "batches"])].tags


def test_importing_the_package_reads_no_settings_and_writes_nothing(tmp_path):
    # A start_date that would fail to parse proves that import does not read settings.
    env = {
        "SOURCES__ANALYTICS__START_DATE": "not a date",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
    }
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import analytics_assets, sys; print(type(analytics_assets.defs).__name__)",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "LazyDefinitions"
    assert [p.name for p in tmp_path.iterdir()] == []

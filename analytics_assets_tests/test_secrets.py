"""The API key never leaves.

Not in output, logs, event storage, metadata, errors, dlt's working directory or the
destination; and never over plain http to a host that is not loopback.
"""

import os
import secrets
from pathlib import Path

import dlt
import pytest
from dagster import DagsterInstance, serialize_value

from analytics_assets.declaration import parse_declaration
from analytics_assets.partitions import SyncWindow
from analytics_assets.resources_spec import ANALYTICS_API
from analytics_assets.settings import AnalyticsSettings, AnalyticsSettingsError, load_settings
from analytics_assets.source import build_source
from analytics_assets_tests.api_emulator import day
from analytics_assets_tests.conftest import cli_home, run_cli


def files_holding(root: Path, needle: bytes) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and needle in path.read_bytes():
            found.append(str(path.relative_to(root)))
    return found


def test_the_key_appears_in_no_byte_written_by_a_good_and_a_refused_run(
    analytics_env, tmp_path, emulator
):
    key = f"sk-secret-{secrets.token_hex(16)}"
    emulator.api_key = key
    home, scratch, work = cli_home(tmp_path), tmp_path / "tmp", tmp_path / "work"
    for folder in (scratch, work):
        folder.mkdir()
    env = {
        **os.environ,
        "SOURCES__ANALYTICS__API_KEY": key,
        "DAGSTER_HOME": str(home),
        "TMPDIR": str(scratch),
        "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "warehouse.duckdb"),
        "RUNTIME__LOG_LEVEL": "DEBUG",
    }
    outputs = []
    for partition, accepted_key in (("2024-03-02", key), ("2024-03-03", "sk-another-key")):
        emulator.api_key = accepted_key
        completed = run_cli({"dagster/partition": partition}, cwd=work, env=env)
        outputs.append(completed)
    good, refused = outputs
    assert good.returncode == 0, good.stderr[-2000:]
    assert refused.returncode != 0
    assert "the API key was refused" in refused.stdout + refused.stderr

    # dlt's own working directory, kept this time, with the key in the source it ran.
    emulator.api_key = key
    settings = AnalyticsSettings(base_url=emulator.url, start_date=day("2024-03-01"), api_key=key)
    window = SyncWindow(day("2024-03-02"), day("2024-03-03"))
    pipeline = dlt.pipeline(
        pipeline_name="analytics_assets",
        pipelines_dir=str(tmp_path / "dlt_workdir"),
        destination=dlt.destinations.duckdb(str(tmp_path / "kept.duckdb")),
        dataset_name="analytics",
    )
    pipeline.run(build_source(parse_declaration(ANALYTICS_API), settings, window))
    assert (tmp_path / "dlt_workdir" / "analytics_assets").is_dir()

    for completed in outputs:
        assert key not in completed.stdout
        assert key not in completed.stderr
    assert files_holding(tmp_path, key.encode()) == []
    # The same search does find what the runs did write, such as the URL they logged.
    assert any(
        p.startswith("dagster_home/") for p in files_holding(tmp_path, emulator.url.encode())
    )
    with DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 2
        for run in runs:
            for record in instance.all_logs(run.run_id):
                assert key not in serialize_value(record)
    assert all(r.authorized or r.status == 401 for r in emulator.requests)


def test_the_settings_repr_hides_the_key(analytics_env):
    assert analytics_env["SOURCES__ANALYTICS__API_KEY"] not in repr(load_settings())


@pytest.mark.parametrize(
    "base_url", ["http://api.example.com", "http://10.0.0.8:8080", "http://[2001:db8::1]/"]
)
def test_a_key_is_never_sent_over_plain_http_to_a_host_that_is_not_loopback(
    analytics_env, monkeypatch, base_url
):
    monkeypatch.setenv("SOURCES__ANALYTICS__BASE_URL", base_url)

    with pytest.raises(AnalyticsSettingsError, match="plain http to a host that is not loopback"):
        load_settings()


@pytest.mark.parametrize(
    "base_url",
    [
        "https://api.example.com",
        "http://127.0.0.1:9",
        "http://127.8.9.10",
        "http://[::1]:9",
        "http://localhost:9",
    ],
)
def test_https_and_loopback_http_are_accepted(analytics_env, monkeypatch, base_url):
    monkeypatch.setenv("SOURCES__ANALYTICS__BASE_URL", base_url)

    assert load_settings().base_url == base_url.rstrip("/")

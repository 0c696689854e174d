"""Settings come from dlt's config providers only, and bad values are clear errors."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

import analytics_assets
from analytics_assets.settings import AnalyticsSettingsError, load_settings
from analytics_assets_tests.conftest import cli_home, failure_text, run_cli, run_daily_job

SETTING_VARIABLES = (
    "SOURCES__ANALYTICS__API_KEY",
    "SOURCES__ANALYTICS__BASE_URL",
    "SOURCES__ANALYTICS__START_DATE",
    "SOURCES__ANALYTICS__LIMIT",
)


def test_settings_are_read_from_the_environment(analytics_env):
    settings = load_settings()

    assert settings.base_url == analytics_env["SOURCES__ANALYTICS__BASE_URL"]
    assert settings.api_key == analytics_env["SOURCES__ANALYTICS__API_KEY"]
    assert settings.start_date == datetime(2024, 3, 1, tzinfo=UTC)
    assert settings.limit == 7
    assert "sk-" not in repr(settings), "the key never shows in a repr"


def test_settings_are_read_from_dlt_config_and_secrets_toml(tmp_path):
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text(
        '[sources.analytics]\nbase_url = "http://127.0.0.1:9"\n'
        'start_date = "2024-05-06T07:08:09Z"\nlimit = 42\n'
    )
    (tmp_path / ".dlt" / "secrets.toml").write_text(
        '[sources.analytics]\napi_key = "sk-from-toml"\n'
    )
    program = (
        "import json; from analytics_assets.settings import load_settings; s = load_settings(); "
        "print(json.dumps([s.base_url, s.start_date.isoformat(), s.limit, s.api_key]))"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    completed = subprocess.run(
        [sys.executable, "-c", program],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == [
        "http://127.0.0.1:9",
        "2024-05-06T07:08:09+00:00",
        42,
        "sk-from-toml",
    ]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        pytest.param(
            "SOURCES__ANALYTICS__START_DATE",
            "2024-03-01",
            "start_date '2024-03-01' is malformed: expected UTC text like 2024-03-01T00:00:00Z "
            "(format %Y-%m-%dT%H:%M:%SZ)",
            id="date-without-time",
        ),
        pytest.param(
            "SOURCES__ANALYTICS__START_DATE",
            "2024-03-01T00:00:00+02:00",
            "start_date '2024-03-01T00:00:00+02:00' is malformed",
            id="not-utc",
        ),
        pytest.param(
            "SOURCES__ANALYTICS__START_DATE",
            "yesterday",
            "start_date 'yesterday' is malformed",
            id="words",
        ),
        pytest.param(
            "SOURCES__ANALYTICS__LIMIT",
            "0",
            "limit '0' is not valid: expected a whole number of 1 or more",
            id="zero-limit",
        ),
        pytest.param(
            "SOURCES__ANALYTICS__LIMIT", "-5", "limit '-5' is not valid", id="negative-limit"
        ),
        pytest.param(
            "SOURCES__ANALYTICS__LIMIT", "ten", "limit 'ten' is not valid", id="text-limit"
        ),
        pytest.param(
            "SOURCES__ANALYTICS__BASE_URL",
            "api.example.com",
            "base_url 'api.example.com' is not valid: expected an http(s) URL",
            id="url-without-scheme",
        ),
    ],
)
def test_a_malformed_setting_fails_definitions_load_naming_it_and_the_expected_form(
    analytics_env, monkeypatch, variable, value, message
):
    monkeypatch.setenv(variable, value)

    with pytest.raises(AnalyticsSettingsError) as raised:
        analytics_assets.defs()

    assert message in str(raised.value)


def test_a_missing_start_date_says_where_to_set_it(tmp_path):
    # A fresh process in an empty directory: no .dlt/config.toml and no variables.
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from analytics_assets.settings import load_settings; load_settings()",
        ],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode != 0
    assert "AnalyticsSettingsError: sources.analytics.start_date is not set" in completed.stderr
    assert "SOURCES__ANALYTICS__START_DATE" in completed.stderr


def test_a_missing_api_key_fails_the_run_at_start_naming_the_setting(
    analytics_env, monkeypatch, emulator, dagster_instance
):
    monkeypatch.delenv("SOURCES__ANALYTICS__API_KEY")

    result = run_daily_job(dagster_instance, partition="2024-03-02")

    assert not result.success
    assert "SOURCES__ANALYTICS__API_KEY" in failure_text(result)
    assert emulator.requests == [], "nothing is sent without a key"


@pytest.mark.parametrize(
    ("partition", "words"),
    [
        pytest.param(
            "2024-02-29", "is not one of the daily partitions 2024-03-01 ...", id="before"
        ),
        pytest.param(
            "2099-01-01", "is not one of the daily partitions 2024-03-01 ...", id="future"
        ),
        # Dagster itself rejects a key that is not a date, before the run starts.
        pytest.param("not-a-day", "does not match format '%Y-%m-%d", id="not-a-date"),
    ],
)
def test_a_partition_outside_the_partitions_fails_at_run_start_naming_it(
    partition, words, analytics_env, tmp_path, emulator
):
    env = {**os.environ, "DAGSTER_HOME": str(cli_home(tmp_path))}
    completed = run_cli({"dagster/partition": partition}, cwd=tmp_path, env=env)

    assert completed.returncode != 0
    assert f"{partition!r} {words}" in completed.stdout + completed.stderr
    assert emulator.requests == [], "nothing is requested for a day that is not a partition"

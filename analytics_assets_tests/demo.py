"""`make demo`: the job run through Dagster's CLI against the local API emulator.

Starts the emulator on loopback, runs `analytics_daily_job` for one day and then for a range of
days (one run) with `dagster job execute`, prints the rows per table, and stops the emulator.
Everything it writes stays under `.demo/` (DuckDB file `.demo/warehouse.duckdb`).
"""

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from analytics_assets_tests.commands import TABLES, dagster_home, job_execute_command

API_KEY = "sk-emulator-demo"  # the emulator's own key: not a secret
FIRST_DAY = "2024-03-01"
RUNS = (
    {"dagster/partition": "2024-03-01"},
    {
        "dagster/asset_partition_range_start": "2024-03-02",
        "dagster/asset_partition_range_end": "2024-03-03",
    },
)


def main() -> None:
    """Run the demo end to end; exits non-zero if any step fails."""
    root = Path(".demo").resolve()
    home = dagster_home(root)  # with a dagster.yaml: telemetry off
    warehouse = root / "warehouse.duckdb"
    warehouse.unlink(missing_ok=True)

    emulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "analytics_assets_tests.api_emulator",
            "--api-key",
            API_KEY,
            "--start",
            FIRST_DAY,
            "--days",
            "3",
            "--files",
            "90",
            "--batches",
            "45",
            "--models",
            "6",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = emulator.stdout.readline().strip()
        print(f"API emulator listening on {base_url}")
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "SOURCES__ANALYTICS__BASE_URL": base_url,
            "SOURCES__ANALYTICS__API_KEY": API_KEY,
            "SOURCES__ANALYTICS__START_DATE": f"{FIRST_DAY}T00:00:00Z",
            "SOURCES__ANALYTICS__LIMIT": "20",
            "DESTINATION__DUCKDB__CREDENTIALS": str(warehouse),
        }
        for tags in RUNS:
            command = job_execute_command(tags)
            print(f"$ dagster {' '.join(command[1:-1])} '{command[-1]}'", flush=True)
            subprocess.run(command, env=env, check=True)
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)

    with duckdb.connect(str(warehouse), read_only=True) as connection:
        print(f"\nRows in {warehouse}, dataset analytics:")
        for table in TABLES:
            (count,) = connection.execute(f"select count(*) from analytics.{table}").fetchone()
            print(f"  {table:<14} {count:>5}")


if __name__ == "__main__":
    main()

"""What users run, built once for the tests, the demo and the benchmark."""

import json
import sys
from pathlib import Path

from analytics_assets.automation import DAILY_JOB_NAME

TABLES = ("models", "files", "file_contents", "batches", "batch_results")
# The `dagster` of the running interpreter's environment, wherever PATH points.
DAGSTER = str(Path(sys.executable).parent / "dagster")


def job_execute_command(tags: dict[str, str]) -> list[str]:
    """`dagster job execute` of the daily job with `tags`, as users and scripts run it."""
    return [
        DAGSTER,
        "job",
        "execute",
        "-m",
        "analytics_assets",
        "-j",
        DAILY_JOB_NAME,
        "--tags",
        json.dumps(tags),
    ]


def dagster_home(root: Path, instance_yaml: str = "") -> Path:
    """`root/dagster_home` with a `dagster.yaml`: telemetry off and the given instance settings."""
    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n" + instance_yaml)
    return home

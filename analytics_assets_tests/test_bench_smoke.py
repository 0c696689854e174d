"""The benchmark's smoke run: every section on a tiny volume, so `make bench` cannot rot.

It checks that each contender ran, did the same work (the benchmark refuses ratios otherwise)
and that the project read the fewest requests; timing goals belong to `make bench`, not here.
"""

import json
import math
import os
import subprocess
import sys

from analytics_assets_tests.conftest import REPOSITORY


def test_the_benchmark_smoke_run_prints_every_ratio(tmp_path):
    report = tmp_path / "bench.json"

    finished = subprocess.run(
        [sys.executable, "-m", "analytics_assets_tests.bench", "--smoke", "--json", str(report)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert finished.returncode == 0, finished.stderr[-3000:]
    rows = {row["name"]: row for row in json.loads(report.read_text())}
    names = list(rows)
    for measure in (
        "limit ratio (project / limit)",
        "limit ratio, the same with one planned event",
        "limit ratio, production instance, deploy/instance.env",
        "limit ratio, production instance, deploy/instance.env and one planned event",
        "peer ratio (plain dlt / project)",
        "peer ratio, production instance",
        "requests / fewest, year",
        "requests / fewest, one day",
        "file contents, 20 files",
        "file contents, 5% answered 429",
        "peak RSS, year run",
        "fixed cost",
    ):
        assert any(name.startswith(measure) for name in names), (measure, names)
        assert any(measure in line for line in finished.stdout.splitlines() if "|" in line)
    # The production-instance runs need PostgreSQL (CI starts it); without it they say so.
    postgres = bool(os.environ.get("ANALYTICS_TEST_POSTGRES_DSN"))
    for name, row in rows.items():
        if "production instance" in name and not postgres:
            assert math.isnan(row["value"]), row
            assert row["detail"].startswith("not measured"), row
            continue
        assert row["value"] > 0, name
        if name.startswith("requests / fewest"):
            assert row["met"], row

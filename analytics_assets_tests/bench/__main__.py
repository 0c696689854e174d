"""`make bench`: measure the project against the limit and against plain dlt, print the ratios.

Example: `python -m analytics_assets_tests.bench` (the full volume, several minutes) or
`python -m analytics_assets_tests.bench --smoke` (a small volume, seconds).
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from analytics_assets_tests.api_emulator import ApiEmulator, day, generate_data
from analytics_assets_tests.api_emulator.data import EmulatorData
from analytics_assets_tests.api_emulator.faults import Fault
from analytics_assets_tests.bench.measure import Measured, run_worker
from analytics_assets_tests.commands import (
    ONE_PLANNED_EVENT_PER_ASSET,
    dagster_home,
    fresh_postgres_database,
    instance_storage_environment,
    job_execute_command,
    production_environment,
)

API_KEY = "sk-bench-not-a-secret"
LIST_ASSETS = ["models", "files", "batches", "batch_results"]
ALL_ASSETS = ["models", "files", "file_contents", "batches", "batch_results"]
FILES_PAGE, BATCHES_PAGE = 10_000, 100
SECTIONS = ("year", "contents", "memory", "fixed")
NO_POSTGRES = (
    "not measured: no PostgreSQL server (make postgres-up, then export ANALYTICS_TEST_POSTGRES_DSN)"
)


@dataclass(frozen=True)
class Volume:
    """How much data the emulator serves, over how many days from `start`."""

    files: int
    batches: int
    models: int
    days: int
    start: datetime


@dataclass
class Row:
    """One line of the results table."""

    name: str
    value: float
    goal: str
    met: bool
    detail: str


def main(argv: list[str] | None = None) -> int:
    """Run every measurement and print the table; exit 1 if a contender failed."""
    args = _parser().parse_args(argv)
    if args.smoke:
        args.files, args.batches, args.models, args.days = 300, 60, 5, 3
        args.memory_files, args.memory_base_files, args.contents_files = 2_000, 200, 20
    volume = Volume(args.files, args.batches, args.models, args.days, args.start)
    rows: list[Row] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="analytics-bench-") as scratch:
        bench = Bench(Path(scratch), args.postgres)
        sections = set(args.only or SECTIONS)
        if "year" in sections:
            rows += bench.year_and_requests(volume)
        if "contents" in sections:
            rows += bench.contents(args.contents_files, args.latency, volume.start)
        if "memory" in sections:
            rows += bench.memory(volume, args.memory_base_files, args.memory_files)
        if "fixed" in sections:
            rows += bench.fixed_cost(volume.start)
    _print_table(rows, args, time.perf_counter() - started)
    if args.json:
        Path(args.json).write_text(json.dumps([row.__dict__ for row in rows], indent=2))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--batches", type=int, default=10_000)
    parser.add_argument("--models", type=int, default=300)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--start", type=day, default=day("2025-01-01"))
    parser.add_argument("--contents-files", type=int, default=1_000)
    parser.add_argument("--latency", type=float, default=0.020, help="seconds per request")
    parser.add_argument("--memory-files", type=int, default=500_000)
    parser.add_argument("--memory-base-files", type=int, default=10_000)
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only these sections (repeatable)"
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("ANALYTICS_TEST_POSTGRES_DSN"),
        help="a PostgreSQL server (DSN) for the production-instance runs "
        "(default: $ANALYTICS_TEST_POSTGRES_DSN; without one they are not measured)",
    )
    parser.add_argument("--smoke", action="store_true", help="a small volume, seconds not minutes")
    parser.add_argument("--json", help="also write the rows to this file")
    return parser


@dataclass(frozen=True)
class ProductionRun:
    """A run on the production instance and the rows it landed per table."""

    measured: Measured
    rows: dict[str, int]


class Bench:
    """The measurements; each contender is a subprocess against an emulator in this process."""

    def __init__(self, scratch: Path, postgres: str | None) -> None:
        self.scratch = scratch
        self.postgres = postgres
        self.runs = 0

    def _env(self, emulator: ApiEmulator, start: datetime) -> dict[str, str]:
        self.runs += 1
        return {
            "SOURCES__ANALYTICS__BASE_URL": emulator.url,
            "SOURCES__ANALYTICS__API_KEY": API_KEY,
            "SOURCES__ANALYTICS__START_DATE": f"{start:%Y-%m-%dT%H:%M:%SZ}",
            "DESTINATION__DUCKDB__CREDENTIALS": str(self.scratch / f"run{self.runs}.duckdb"),
            "SOURCES__ANALYTICS__LIMIT": "",
        }

    def _on_production_instance(
        self, emulator: ApiEmulator, volume: Volume, assets: list[str], extra: dict[str, str]
    ) -> ProductionRun | None:
        """The year run on deploy/dagster.yaml with deploy/instance.env, in a fresh database."""
        if not self.postgres:
            return None
        with fresh_postgres_database(self.postgres, "bench_dagster") as dsn:
            env = {
                **self._env(emulator, volume.start),
                **production_environment(),
                **extra,
                # The deploy file's storage (it names the driver itself).
                **instance_storage_environment(dsn),
            }
            measured = run_job(
                f"{volume.start:%Y-%m-%d}", _last_day(volume), assets, env, "production"
            )
        return ProductionRun(measured, _counts(env, assets))

    def year_and_requests(self, volume: Volume) -> list[Row]:
        """Limit ratio, peer ratio and request ratios, on one emulator."""
        data = _generate(volume)
        first, last = f"{volume.start:%Y-%m-%d}", _last_day(volume)
        window = [int(volume.start.timestamp()), int(_end(volume).timestamp())]
        rows = []
        with ApiEmulator(data, API_KEY) as emulator:
            env = self._env(emulator, volume.start)
            limit = run_worker(
                "analytics_assets_tests.bench.limit",
                {
                    "base_url": emulator.url,
                    "api_key": API_KEY,
                    "window": window,
                    "database": env["DESTINATION__DUCKDB__CREDENTIALS"],
                },
                {},
            )
            emulator.clear_requests()
            env = self._env(emulator, volume.start)
            project = run_job(first, last, LIST_ASSETS, env)
            _same_rows("the limit", limit.report["rows"], _counts(env, LIST_ASSETS))
            list_requests = len(emulator.requests)
            fewest_list = (
                1 + _pages(len(data.files), FILES_PAGE) + _pages(len(data.batches), BATCHES_PAGE)
            )
            ratio = project.seconds / limit.seconds
            rows.append(
                Row(
                    "limit ratio (project / limit), year, list resources",
                    ratio,
                    "<= 1.5",
                    ratio <= 1.5,
                    f"project {project.seconds:.1f} s (of which the sync step "
                    f"{project.report['sync_seconds']:.1f} s, "
                    f"{project.report['sync_seconds'] / limit.seconds:.1f} x the limit), "
                    f"limit {limit.seconds:.1f} s",
                )
            )

            emulator.clear_requests()
            batched_env = {**self._env(emulator, volume.start), **ONE_PLANNED_EVENT_PER_ASSET}
            batched = run_job(first, last, LIST_ASSETS, batched_env)
            ratio = batched.seconds / limit.seconds
            rows.append(
                Row(
                    "limit ratio, the same with one planned event per asset (instance env)",
                    ratio,
                    "<= 1.5",
                    ratio <= 1.5,
                    f"project {batched.seconds:.1f} s with "
                    f"{next(iter(ONE_PLANNED_EVENT_PER_ASSET))}=1",
                )
            )
            for name, planned in (
                ("deploy/instance.env", {}),
                (
                    "deploy/instance.env and one planned event per asset",
                    ONE_PLANNED_EVENT_PER_ASSET,
                ),
            ):
                emulator.clear_requests()
                production = self._on_production_instance(emulator, volume, LIST_ASSETS, planned)
                if production is None:
                    rows.append(
                        Row(
                            f"limit ratio, production instance, {name}",
                            math.nan,
                            "<= 1.5",
                            False,
                            NO_POSTGRES,
                        )
                    )
                    continue
                _same_rows("the limit", limit.report["rows"], production.rows)
                ratio = production.measured.seconds / limit.seconds
                rows.append(
                    Row(
                        f"limit ratio, production instance, {name}",
                        ratio,
                        "<= 1.5",
                        ratio <= 1.5,
                        f"project {production.measured.seconds:.1f} s (sync step "
                        f"{production.measured.report['sync_seconds']:.1f} s) on "
                        "deploy/dagster.yaml (PostgreSQL storage)",
                    )
                )
            emulator.clear_requests()
            emulator.clear_requests()
            env = self._env(emulator, volume.start)
            everything = run_job(first, last, ALL_ASSETS, env)
            project_rows = _counts(env, ALL_ASSETS)
            year_requests = len(emulator.requests)
            batches_reads = _pages_read(emulator, "/v1/batches")
            peer = run_worker(
                "analytics_assets_tests.bench.peer",
                {
                    "base_url": emulator.url,
                    "api_key": API_KEY,
                    "window": window,
                    "limit": BATCHES_PAGE,
                    "database": str(self.scratch / "peer.duckdb"),
                },
                {},
            )
            _same_rows("plain dlt", peer.report["rows"], project_rows)
            ratio = peer.seconds / everything.seconds
            rows.append(
                Row(
                    "peer ratio (plain dlt / project), year, all five",
                    ratio,
                    ">= 3",
                    ratio >= 3,
                    f"plain dlt {peer.seconds:.1f} s, project {everything.seconds:.1f} s",
                )
            )
            production = self._on_production_instance(
                emulator, volume, ALL_ASSETS, ONE_PLANNED_EVENT_PER_ASSET
            )
            name = (
                "peer ratio, production instance, deploy/instance.env and one planned event "
                "per asset, all five"
            )
            if production is None:
                rows.append(Row(name, math.nan, ">= 3", False, NO_POSTGRES))
            else:
                _same_rows("plain dlt", peer.report["rows"], production.rows)
                ratio = peer.seconds / production.measured.seconds
                rows.append(
                    Row(
                        name,
                        ratio,
                        ">= 3",
                        ratio >= 3,
                        f"plain dlt {peer.seconds:.1f} s, project "
                        f"{production.measured.seconds:.1f} s",
                    )
                )
            fewest_year = fewest_list + len(data.files)
            ratio = year_requests / fewest_year
            rows.append(
                Row(
                    "requests / fewest, year, all five",
                    ratio,
                    "<= 1.05",
                    ratio <= 1.05,
                    f"{year_requests} sent, {fewest_year} needed; {list_requests} for the "
                    f"list resources ({fewest_list} needed); /v1/batches pages {batches_reads} "
                    f"(needed {_pages(len(data.batches), BATCHES_PAGE)})",
                )
            )

            middle = volume.start + timedelta(days=volume.days // 2)
            emulator.clear_requests()
            env = self._env(emulator, volume.start)
            middle_day = f"{middle:%Y-%m-%d}"
            run_job(middle_day, middle_day, ALL_ASSETS, env)
            day_requests = len(emulator.requests)
            fewest_day = _fewest_for_day(data, middle)
            per_endpoint = {
                path: (_pages_read(emulator, path), _fewest_pages(records, middle, page))
                for path, records, page in (
                    ("/v1/files", data.files, FILES_PAGE),
                    ("/v1/batches", data.batches, BATCHES_PAGE),
                )
            }
            ratio = day_requests / fewest_day
            past = max(sent - needed for sent, needed in per_endpoint.values())
            rows.append(
                Row(
                    f"requests / fewest, one day ({middle:%Y-%m-%d})",
                    ratio,
                    "<= 1.05, <= 1 page past",
                    ratio <= 1.05 and past <= 1,
                    f"{day_requests} sent, {fewest_day} needed; pages sent/needed "
                    + ", ".join(f"{p} {s}/{n}" for p, (s, n) in per_endpoint.items()),
                )
            )
        return rows

    def contents(self, files: int, latency: float, start: datetime) -> list[Row]:
        """Concurrent file contents against one by one, with latency, then with 429s."""
        data = generate_data(start=start, days=1, files=files, batches=0, models=1, seed=3)
        window = [int(start.timestamp()), int((start + timedelta(days=1)).timestamp())]
        first = f"{start:%Y-%m-%d}"
        rows = []
        with ApiEmulator(data, API_KEY, latency_seconds=latency) as emulator:
            env = self._env(emulator, start)
            alone = run_worker(
                "analytics_assets_tests.bench.one_by_one",
                {"base_url": emulator.url, "api_key": API_KEY, "window": window},
                {},
            )
            fetch = {
                "mode": "extract_only",
                "first": first,
                "last": first,
                "resource": "file_contents",
            }
            project = run_worker("analytics_assets_tests.bench.project", fetch, env)
            if project.report["items"] != files or alone.report["items"] != files:
                raise RuntimeError(f"contents: expected {files}, got {project.report}")
            ratio = alone.seconds / project.seconds
            rows.append(
                Row(
                    f"file contents, {files} files, {latency * 1000:.0f} ms: one by one / project",
                    ratio,
                    ">= 8",
                    ratio >= 8,
                    f"one by one {alone.seconds:.2f} s, project {project.seconds:.2f} s "
                    f"({env_concurrency()} at a time)",
                )
            )
            emulator.clear_requests()
            # One file in twenty has its content answered 429 once: it must wait and retry.
            throttle = max(1, files // 20)
            for file in data.files[:throttle]:
                emulator.faults.inject(
                    Fault(kind="status", status=429, retry_after="1"),
                    path=f"/v1/files/{file['id']}/content",
                )
            throttled = run_worker("analytics_assets_tests.bench.project", fetch, env)
            limited = [r for r in emulator.requests if r.status == 429]
            ok = (
                throttled.report["items"] == files
                and len(limited) == throttle
                and throttled.seconds >= 1.0
            )
            rows.append(
                Row(
                    "file contents, 5% answered 429 once (Retry-After: 1): all fetched",
                    1.0 if ok else 0.0,
                    "yes",
                    ok,
                    f"{len(limited)} answered 429, {throttled.report['items']} of {files} "
                    f"contents, {throttled.seconds:.2f} s",
                )
            )
        return rows

    def memory(self, volume: Volume, base_files: int, files: int) -> list[Row]:
        """Peak RSS of the year run (list resources) at `files` over the same at `base_files`."""
        peaks = {}
        for count in (base_files, files):
            scaled = Volume(count, max(1, count // 10), volume.models, volume.days, volume.start)
            data = _generate(scaled)
            with ApiEmulator(data, API_KEY) as emulator:
                env = self._env(emulator, volume.start)
                first = f"{volume.start:%Y-%m-%d}"
                measured = run_job(first, _last_day(volume), LIST_ASSETS, env)
            peaks[count] = measured
            del data
        ratio = peaks[files].peak_rss_mib / peaks[base_files].peak_rss_mib
        return [
            Row(
                f"peak RSS, year run, {files} / {base_files} files",
                ratio,
                "<= 1.5",
                ratio <= 1.5,
                f"{peaks[files].peak_rss_mib:.0f} MiB ({peaks[files].seconds:.1f} s) / "
                f"{peaks[base_files].peak_rss_mib:.0f} MiB ({peaks[base_files].seconds:.1f} s)",
            )
        ]

    def fixed_cost(self, start: datetime) -> list[Row]:
        """`dagster job execute` of a day with no records, next to importing the package."""
        data = generate_data(start=start, days=1, files=0, batches=0, models=0)
        with ApiEmulator(data, API_KEY) as emulator:
            env = {**os.environ, **self._env(emulator, start)}
            env["DAGSTER_HOME"] = str(dagster_home(self.scratch))
            command = job_execute_command({"dagster/partition": f"{start:%Y-%m-%d}"})
            job_seconds = _timed(command, env)
            import_seconds = _timed([sys.executable, "-c", "import analytics_assets"], env)
        return [
            Row(
                "fixed cost: `dagster job execute`, a day with no records (s)",
                job_seconds,
                "visible",
                True,
                f"import analytics_assets alone: {import_seconds:.1f} s",
            )
        ]


def run_job(
    first: str, last: str, assets: list[str], env: dict[str, str], instance: str = "local"
) -> Measured:
    """The project's daily job over the days `first`..`last` in one run, for `assets`.

    `instance`: `local` (a temporary SQLite instance) or `production` (deploy/dagster.yaml).
    """
    return run_worker(
        "analytics_assets_tests.bench.project",
        {"first": first, "last": last, "assets": assets, "instance": instance},
        env,
    )


def env_concurrency() -> str:
    """The content concurrency the runs use (the setting, or its default)."""
    from analytics_assets.settings import DEFAULT_CONTENT_CONCURRENCY

    return os.environ.get(
        "SOURCES__ANALYTICS__CONTENT_CONCURRENCY", str(DEFAULT_CONTENT_CONCURRENCY)
    )


def _generate(volume: Volume) -> EmulatorData:
    return generate_data(
        start=volume.start,
        days=volume.days,
        files=volume.files,
        batches=volume.batches,
        models=volume.models,
        seed=11,
    )


def _end(volume: Volume) -> datetime:
    return volume.start + timedelta(days=volume.days)


def _last_day(volume: Volume) -> str:
    return f"{_end(volume) - timedelta(days=1):%Y-%m-%d}"


def _pages(records: int, page: int) -> int:
    return max(1, math.ceil(records / page))


def _fewest_pages(records: list[dict[str, Any]], day_start: datetime, page: int) -> int:
    # Newest first with no server-side filter: every record newer than the day's end must be
    # paged past, and the day's own records read; nothing older is needed.
    low = int(day_start.timestamp())
    reach = sum(1 for r in records if r["created_at"] >= low)
    return _pages(reach, page)


def _fewest_for_day(data: EmulatorData, day_start: datetime) -> int:
    end = day_start + timedelta(days=1)
    return (
        1
        + _fewest_pages(data.files, day_start, FILES_PAGE)
        + _fewest_pages(data.batches, day_start, BATCHES_PAGE)
        + len(data.files_in(day_start, end))
    )


def _pages_read(emulator: ApiEmulator, path: str) -> int:
    return len(emulator.requests_to(path))


def _counts(env: dict[str, str], tables: list[str]) -> dict[str, int]:
    with duckdb.connect(env["DESTINATION__DUCKDB__CREDENTIALS"], read_only=True) as connection:
        return {
            t: connection.execute(f"select count(*) from analytics.{t}").fetchone()[0]
            for t in tables
        }


def _same_rows(contender: str, theirs: dict[str, int], ours: dict[str, int]) -> None:
    # A ratio means something only when both did the same work.
    if {t: theirs.get(t) for t in ours} != ours:
        raise RuntimeError(f"{contender} landed {theirs}, the project {ours}: not the same work")


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def _print_table(rows: list[Row], args: argparse.Namespace, seconds: float) -> None:
    volume = (
        f"{args.files} files, {args.batches} batches, {args.models} models over {args.days} days"
    )
    lines = [
        f"analytics_assets benchmark: {volume}; {os.cpu_count()} CPUs; {seconds:.0f} s in all",
        "",
        "| measure | ratio | goal | met | detail |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.name} | {row.value:.2f} | {row.goal} | {'yes' if row.met else 'NO'} | "
            f"{row.detail} |"
        )
    print("\n".join(lines))  # noqa: T201


if __name__ == "__main__":
    sys.exit(main())

"""Run a contender as a subprocess and measure it: wall time, peak RSS, and what it reports."""

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Measured:
    """One contender's run: its own report (last JSON line on stdout) and what the OS saw."""

    report: dict[str, Any]
    wall_seconds: float
    peak_rss_mib: float

    @property
    def seconds(self) -> float:
        """The contender's own timing of its work (without interpreter start-up and imports)."""
        return float(self.report["seconds"])


def run_worker(module: str, args: dict[str, Any], env: dict[str, str]) -> Measured:
    """Run `python -m <module> <json args>` with `env` added, wait, and measure it.

    Raises:
        RuntimeError: the worker failed; its stderr tail is in the message.
    """
    command = [sys.executable, "-m", module, json.dumps(args)]
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr, returncode, peak_rss_kib = _communicate_with_rusage(process)
    wall = time.perf_counter() - started
    if returncode != 0:
        raise RuntimeError(f"{module} failed ({returncode}):\n{stderr[-3000:]}")
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{module} printed no report:\n{stdout[-2000:]}\n{stderr[-2000:]}")
    return Measured(json.loads(lines[-1]), wall, peak_rss_kib / 1024)


def _communicate_with_rusage(process: subprocess.Popen) -> tuple[str, str, int, int]:
    # Popen.wait() would reap the child and lose its rusage: read both pipes, then wait4 it.
    chunks: dict[str, str] = {}

    def read(name: str, stream: Any) -> None:
        chunks[name] = stream.read()

    readers = [
        threading.Thread(target=read, args=("out", process.stdout)),
        threading.Thread(target=read, args=("err", process.stderr)),
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    for reader in readers:
        reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux.
    return chunks.get("out", ""), chunks.get("err", ""), process.returncode, usage.ru_maxrss

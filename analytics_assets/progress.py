"""What a run has read so far, per resource, reported to the run's log as it goes."""

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

REPORT_EVERY_SECONDS = 10.0


@dataclass
class RunProgress:
    """Counts pages (or documents) and records per resource, and logs a line now and then.

    A long backfill reads newest first, so the day of the last record read shows how far back
    the run has come.
    """

    log: Callable[[str], None]
    report_every_seconds: float = REPORT_EVERY_SECONDS
    clock: Callable[[], float] = time.monotonic
    pages: Counter[str] = field(default_factory=Counter)
    records: Counter[str] = field(default_factory=Counter)
    reached: dict[str, str] = field(default_factory=dict)
    _last_report: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def page(self, resource: str, records: int, cursor: object = None) -> None:
        """Count one page or document of `resource`; `cursor` is its last record's cursor."""
        with self._lock:
            self._count(resource, records, cursor)

    def _count(self, resource: str, records: int, cursor: object) -> None:
        self.pages[resource] += 1
        self.records[resource] += records
        if isinstance(cursor, int) and not isinstance(cursor, bool):
            self.reached[resource] = f"{datetime.fromtimestamp(cursor, UTC):%Y-%m-%d}"
        now = self.clock()
        if self._last_report is None and self.report_every_seconds > 0:
            self._last_report = now
        elif self._last_report is None or now - self._last_report >= self.report_every_seconds:
            self._last_report = now
            self.log(f"Progress: {self.summary()}")

    def summary(self) -> str:
        """One line: pages, records and the day reached, per resource."""
        parts = []
        for resource in self.pages:
            reached = f", at {self.reached[resource]}" if resource in self.reached else ""
            parts.append(
                f"{resource} {self.pages[resource]} pages, {self.records[resource]} records"
                f"{reached}"
            )
        return "; ".join(parts) or "nothing read yet"

"""Daily UTC partitions that match the datetime cursor, and the window a run reads."""

from dataclasses import dataclass
from datetime import UTC, datetime

from dagster import DailyPartitionsDefinition, PartitionKeyRange, PartitionsDefinition, TimeWindow


@dataclass(frozen=True)
class SyncWindow:
    """The half-open cursor range `[start, end)` one run loads, in UTC."""

    start: datetime
    end: datetime

    @property
    def start_seconds(self) -> int:
        """The window's start as Unix seconds, the cursor's own unit."""
        return int(self.start.timestamp())

    @property
    def end_seconds(self) -> int:
        """The window's end (excluded) as Unix seconds."""
        return int(self.end.timestamp())

    def __str__(self) -> str:
        return f"[{self.start:%Y-%m-%dT%H:%M:%SZ}, {self.end:%Y-%m-%dT%H:%M:%SZ})"


def daily_partitions(start_date: datetime) -> DailyPartitionsDefinition:
    """UTC days from the day of `start_date`; the newest partition is the last complete day."""
    return DailyPartitionsDefinition(start_date=f"{start_date:%Y-%m-%d}", timezone="UTC")


def sync_window(time_window: TimeWindow, start_date: datetime) -> SyncWindow:
    """The window of a run over `time_window`, clipped below at `start_date`.

    A run for day D covers [D 00:00:00Z, D+1 00:00:00Z): a record at exactly midnight belongs
    to the new day. A range of days is one window over all of them.
    """
    start = time_window.start.astimezone(UTC)
    end = time_window.end.astimezone(UTC)
    return SyncWindow(start=max(start, start_date.astimezone(UTC)), end=end)


class PartitionOutOfRangeError(ValueError):
    """A run asked for a day that is not one of the partitions."""


def check_partition_range(partitions_def: PartitionsDefinition, keys: PartitionKeyRange) -> None:
    """Fail clearly when a run's partition (or range) is not within the partitions.

    `dagster job execute --tags` does not check the partition tags itself.
    """
    for key in {keys.start, keys.end}:
        if not partitions_def.has_partition_key(key):
            first = partitions_def.get_first_partition_key()
            last = partitions_def.get_last_partition_key()
            raise PartitionOutOfRangeError(
                f"partition {key!r} is not one of the daily partitions {first} ... {last} "
                "(UTC days from start_date up to yesterday)"
            )

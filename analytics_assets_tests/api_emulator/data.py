"""Deterministic, seeded records for the API emulator, and the ground truth tests compare with."""

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DAY_SECONDS = 86_400
BATCH_STATUSES = (
    "validating",
    "failed",
    "in_progress",
    "finalizing",
    "completed",
    "expired",
    "cancelling",
    "cancelled",
)
FILE_PURPOSES = ("batch", "batch_output", "fine-tune", "assistants", "vision", "user_data")
_CONTENT_NAMESPACE = uuid.UUID("8f7c0f5e-3b1e-4d55-9b8a-0c6f3f2a1d10")


@dataclass
class EmulatorData:
    """Everything the emulator serves. Lists may be edited by tests before serving starts."""

    models: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    batches: list[dict[str, Any]] = field(default_factory=list)
    contents: dict[str, Any] = field(default_factory=dict)

    def add_file(self, file: dict[str, Any], content: Any) -> None:
        """Add one file and the JSON document its content endpoint returns."""
        self.files.append(file)
        self.contents[file["id"]] = content

    def files_in(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The files whose `created_at` is in `[start, end)`: the ground truth of a window."""
        return _in_window(self.files, "created_at", start, end)

    def batches_in(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The batches whose `created_at` is in `[start, end)`."""
        return _in_window(self.batches, "created_at", start, end)

    def models_in(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The models whose `created` is in `[start, end)`."""
        return _in_window(self.models, "created", start, end)


def _in_window(
    records: list[dict[str, Any]], cursor: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    low, high = start.timestamp(), end.timestamp()
    return [r for r in records if low <= r[cursor] < high]


def generate_data(
    *,
    start: datetime,
    days: int,
    files: int,
    batches: int,
    models: int,
    seed: int = 0,
) -> EmulatorData:
    """Seeded records spread over `days` UTC days from `start` (a midnight).

    The same arguments always give the same records. Edge cases are placed on purpose: the
    first files and batches fall at exactly midnight or at 23:59:59 of successive days.
    """
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    rng = random.Random(seed)
    base = int(start.timestamp())
    span = days * DAY_SECONDS

    def created(index: int) -> int:
        if index < 2 * days:
            day = index // 2
            return base + day * DAY_SECONDS + (0 if index % 2 == 0 else DAY_SECONDS - 1)
        return base + rng.randrange(span)

    data = EmulatorData()
    for index in range(models):
        data.models.append(
            {
                "id": f"model-{index:04d}-{_hex(rng, 6)}",
                "object": "model",
                "created": created(index),
                "owned_by": rng.choice(("system", "openai", "organization-owner")),
            }
        )
    for index in range(files):
        file_id = f"file-{_hex(rng, 24)}"
        created_at = created(index)
        data.add_file(
            {
                "id": file_id,
                "object": "file",
                "bytes": rng.randrange(100, 5_000_000),
                "created_at": created_at,
                "expires_at": None if index % 3 else created_at + 30 * DAY_SECONDS,
                "filename": f"upload-{index:06d}.jsonl",
                "purpose": rng.choice(FILE_PURPOSES),
                "status": "processed",
            },
            _content(rng, file_id, index),
        )
    for index in range(batches):
        created_at = created(index)
        status = rng.choice(BATCH_STATUSES)
        total = rng.randrange(1, 1000)
        failed = rng.randrange(0, total // 10 + 1)
        data.batches.append(
            {
                "id": f"batch_{_hex(rng, 24)}",
                "object": "batch",
                "endpoint": "/v1/chat/completions",
                "errors": None,
                "input_file_id": f"file-{_hex(rng, 24)}",
                "completion_window": "24h",
                "status": status,
                "output_file_id": f"file-{_hex(rng, 24)}" if status == "completed" else None,
                "error_file_id": None,
                "created_at": created_at,
                "in_progress_at": created_at + 60,
                "expires_at": created_at + DAY_SECONDS,
                "completed_at": created_at + 3600 if status == "completed" else None,
                "failed_at": created_at + 120 if status == "failed" else None,
                "request_counts": {"total": total, "completed": total - failed, "failed": failed},
                "metadata": {"team": rng.choice(("search", "support", "ads"))},
            }
        )
    return data


def _content(rng: random.Random, file_id: str, index: int) -> dict[str, Any]:
    glossary = None
    if index % 5 != 4:
        glossary = {
            "title": f"Glossary {index}",
            "GlossDiv": {
                "title": rng.choice("ABCDEFGH"),
                "GlossList": {
                    "GlossEntry": {
                        "ID": f"G{index}",
                        "SortAs": rng.choice(("SGML", "XML", "JSON")),
                        "GlossTerm": "Standard Generalized Markup Language",
                        "GlossDef": {"para": "A meta-markup language.", "SeeAlso": ["GML", "XML"]},
                    }
                },
            },
        }
    return {"uuid": str(uuid.uuid5(_CONTENT_NAMESPACE, file_id)), "glossary": glossary}


def _hex(rng: random.Random, length: int) -> str:
    return f"{rng.getrandbits(4 * length):0{length}x}"


def day(text: str) -> datetime:
    """A UTC midnight from `YYYY-MM-DD`, for tests and the command line."""
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)

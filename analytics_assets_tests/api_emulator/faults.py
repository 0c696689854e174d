"""Misbehaviour the emulator can inject, per request.

Error statuses with or without Retry-After, dropped connections, slow answers, bodies cut
short, non-JSON bodies, HTML error pages and corrupted documents.
"""

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour, applied to one request.

    kind:
        `status`: answer `status` with the API's error envelope (and `retry_after`, if given).
        `html`: answer `status` with an HTML error page.
        `drop`: close the connection without answering.
        `slow`: wait `seconds`, then answer normally.
        `truncate`: announce the whole body, send half of it, close the connection.
        `not_json`: answer 200 with `text` as the body.
        `corrupt`: answer 200 with `transform(document)` instead of the document.
    """

    kind: str
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0
    text: str = "this is not json"
    transform: Callable[[Any], Any] | None = None


@dataclass
class _Rule:
    matches: Callable[[str], bool]
    faults: list[Fault]
    times: int | None
    rate: float | None
    rng: random.Random | None
    max_in_a_row: int
    in_a_row: dict[str, int] = field(default_factory=dict)


class FaultPlan:
    """The faults an emulator applies, in the order they were added."""

    def __init__(self) -> None:
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()

    def inject(self, fault: Fault, *, path: str = "/v1/", times: int | None = 1) -> None:
        """Apply `fault` to the next `times` requests whose path starts with `path` (None: all)."""
        self._rules.append(_Rule(lambda p: p.startswith(path), [fault], times, None, None, 0))

    def at_random(
        self,
        faults: list[Fault],
        *,
        rate: float,
        seed: int = 0,
        path: str = "/v1/",
        max_in_a_row: int = 3,
    ) -> None:
        """Fail requests under `path` with probability `rate`, with one of `faults` at random.

        The same request (path and query) never fails more than `max_in_a_row` times in a row,
        so that a client with `max_in_a_row + 1` attempts always gets through.
        """
        self._rules.append(
            _Rule(
                lambda p: p.startswith(path),
                list(faults),
                None,
                rate,
                random.Random(seed),
                max_in_a_row,
            )
        )

    def clear(self) -> None:
        """Apply no more faults."""
        with self._lock:
            self._rules.clear()

    def pick(self, path: str, target: str) -> Fault | None:
        """The fault for a request to `path` (full `target` with query), if any."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(path):
                    continue
                if rule.rng is None:  # an injected fault: the next `times` requests, or all
                    if rule.times == 0:
                        continue
                    if rule.times is not None:
                        rule.times -= 1
                    return rule.faults[0]
                assert rule.rng is not None
                assert rule.rate is not None
                if rule.in_a_row.get(target, 0) >= rule.max_in_a_row:
                    rule.in_a_row[target] = 0
                    continue
                if rule.rng.random() < rule.rate:
                    rule.in_a_row[target] = rule.in_a_row.get(target, 0) + 1
                    return rule.rng.choice(rule.faults)
                rule.in_a_row[target] = 0
        return None

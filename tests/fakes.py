"""Stand-ins the unit tests share."""

from __future__ import annotations


class FakeClock:
    """A monotonic clock that moves only when a test sets ``t``."""

    def __init__(self, start: float = 0.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

"""Log floods: a burst of each kind of line, then a count of those left out."""

from __future__ import annotations

import logging
import time


class RateLimitedLog(logging.Filter):
    """At most ``burst`` records of the same logger and message template per ``seconds``; when
    a quieter window comes, one record says how many were left out. Installed on the hub's log
    handler, so a flood (thousands of failed accepts) cannot fill the disk."""

    def __init__(self, burst: int = 10, seconds: float = 60.0) -> None:
        super().__init__()
        self.burst, self.seconds = burst, seconds
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}  # -> start, count

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = time.monotonic()
        start, count = self._windows.get(key, (now, 0))
        if now - start >= self.seconds:
            if count > self.burst:
                record.msg = f"{record.msg} [{count - self.burst} like this left out]"
            start, count = now, 0
        self._windows[key] = (start, count + 1)
        if len(self._windows) > 10_000:  # bounded: forget the oldest windows
            for old in sorted(self._windows, key=lambda k: self._windows[k][0])[:5_000]:
                del self._windows[old]
        return count < self.burst


def limit_log_floods() -> None:
    """Put a ``RateLimitedLog`` on every handler of the root logger (after logging is set up)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RateLimitedLog) for f in handler.filters):
            handler.addFilter(RateLimitedLog())

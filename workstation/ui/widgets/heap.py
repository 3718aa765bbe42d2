"""Short garbage-collector pauses for a window that must answer within a frame.

Python's full collection walks every tracked object. After a big import (the live modules, the
media stack, SQLAlchemy for the draft cache) that is a few hundred thousand objects: 30-60 ms
holding the interpreter, from whichever thread happened to allocate, so the window stalls
(seen by the GUI-lateness benchmark). What is loaded by then (modules, classes, the window)
lives as long as the app, so it is moved out of the collector's sight once loaded; later full
collections walk only what the day's work allocates.
"""

from __future__ import annotations

import gc


def keep_loaded() -> None:
    """Everything allocated so far is long-lived: leave it out of future collections."""
    gc.freeze()

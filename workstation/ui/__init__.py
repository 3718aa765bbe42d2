"""Every Qt widget and dialog, and the bridge to the asyncio thread.

PySide6 hooks ``import``: after every module imported once it is loaded, it reads that
module's whole source (``inspect.getsource``) to see whether it names PySide6, for its opt-in
``from __feature__ import snake_case, true_property``. That costs about 100 ms of the
workstation's start (aiohttp, keyring, the window's modules), holds the interpreter for tens of
milliseconds at a time when the media stack or SQLAlchemy load on a worker thread (the window
stalls), and keeps hundreds of source files in memory. The workstation never uses
``__feature__``, so every module is marked "not using features" without reading its source;
Qt behaves as before (no feature selected anywhere).
"""

from __future__ import annotations

import logging

import PySide6.QtCore  # noqa: F401  (loads shiboken, which installs the import hook)


def _skip_feature_scan() -> bool:
    """True when PySide6's per-import source scan is off (its internals may move: a missing
    hook only costs speed, so nothing fails)."""
    import sys

    feature = sys.modules.get("PySide6.support.feature")
    if feature is None or not callable(getattr(feature, "_mod_uses_pyside", None)):
        logging.getLogger(__name__).info("PySide6's feature scan was not found to skip")
        return False

    def uses_features(_module: object) -> bool:
        return False

    setattr(feature, "_mod_uses_pyside", uses_features)  # noqa: B010  (a private name)
    return True


FEATURE_SCAN_SKIPPED = _skip_feature_scan()

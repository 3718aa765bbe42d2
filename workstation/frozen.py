"""Running one of the program's modules in a process of its own, from a virtual environment
(``python -m module``) or from the installed bundle, where ``sys.executable`` is the
workstation itself and has no ``-m``: there it is ``workstation --run-module module``."""

from __future__ import annotations

import runpy
import sys

RUN_MODULE = "--run-module"


def is_frozen() -> bool:
    """Running from the PyInstaller bundle (installers/workstation.spec)."""
    return bool(getattr(sys, "frozen", False))


def module_command(module: str, executable: str | None = None) -> list[str]:
    """The command that runs ``module`` as a program. ``executable``: an installed bundle's
    workstation (the start-up benchmark points at one), else this process's own."""
    if executable is not None:
        return [executable, RUN_MODULE, module]
    if is_frozen():
        return [sys.executable, RUN_MODULE, module]
    return [sys.executable, "-W", "ignore", "-m", module]


def run_module_if_asked(argv: list[str]) -> bool:
    """``workstation --run-module MODULE ARGS…``: run it as ``python -m`` would; True when
    it ran (the caller exits), False for an ordinary command line."""
    if len(argv) < 3 or argv[1] != RUN_MODULE:
        return False
    sys.argv = [argv[2], *argv[3:]]
    runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
    return True

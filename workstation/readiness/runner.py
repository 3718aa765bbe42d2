"""Running readiness checks: each one bounded in time, none able to stop the others."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

log = logging.getLogger(__name__)

Status = Literal["pass", "warn", "fail"]


@dataclass(frozen=True)
class Finding:
    """What one check found, and what to do about it (empty when nothing needs doing)."""

    status: Status
    message: str
    fix: str = ""


@dataclass(frozen=True)
class Check:
    """One check. ``probe`` runs on a worker thread of its own, given up on after
    ``timeout_s``; with ``on_caller_thread`` it runs on the caller's thread instead (Qt wants
    the main thread) and bounds its own time."""

    id: str
    name: str
    required: bool
    probe: Callable[[], Finding]
    timeout_s: float = 10.0
    on_caller_thread: bool = False


@dataclass(frozen=True)
class CheckResult:
    id: str
    name: str
    status: Status
    required: bool
    message: str
    fix: str

    @property
    def blocks(self) -> bool:
        """A required check that failed: the PC is not ready."""
        return self.required and self.status == "fail"

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "status": self.status,
                "required": self.required, "message": self.message, "fix": self.fix}


def run_check(check: Check) -> CheckResult:
    """Run one check. An exception or a timeout becomes a failure saying so."""
    if check.on_caller_thread:
        finding = _guarded(check)
    else:
        box: list[Finding] = []
        # A daemon thread: one stuck in a driver or a keyring prompt cannot keep the process
        # alive after the report is printed.
        worker = threading.Thread(target=lambda: box.append(_guarded(check)),
                                  name=f"check-{check.id}", daemon=True)
        worker.start()
        worker.join(check.timeout_s)
        finding = box[0] if box else Finding(
            "fail", f"The check did not finish within {check.timeout_s:g} s.",
            "Run the check again; if it hangs again, something on this PC is not answering "
            "(a device driver, the keyring, the network): see the check's name.")
    return CheckResult(check.id, check.name, finding.status, check.required, finding.message,
                       finding.fix if finding.status != "pass" else "")


def run_checks(checks: Iterable[Check],
               on_result: Callable[[CheckResult], None] = lambda _r: None,
               ) -> list[CheckResult]:
    """Run the checks one after another (the video encoding speed is measured with the PC
    otherwise idle), handing each result to ``on_result`` as it comes."""
    results = []
    for check in checks:
        result = run_check(check)
        on_result(result)
        results.append(result)
    return results


def ready(results: Iterable[CheckResult]) -> bool:
    return not any(r.blocks for r in results)


def _guarded(check: Check) -> Finding:
    try:
        return check.probe()
    except Exception as exc:
        log.debug("The %s check raised", check.id, exc_info=True)
        return Finding("fail", f"The check itself failed: {type(exc).__name__}: {exc}",
                       "Report this message to the workstation's support.")

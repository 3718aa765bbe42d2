"""``workstation check``: the readiness check IT runs after installing a workstation."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from workstation.core.site import SiteConfig
from workstation.readiness import CheckResult, default_checks, ready, run_checks

WIDTH = 100
LABEL = 21  # the widest name, "STUN/TURN (optional)", and a space


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    check = sub.add_parser(
        "check", help="is this PC ready for video visits? (exit 1 if a required check fails)",
        description="Check this PC for video visits: the screen, camera, microphone and "
                    "speaker, the clinic hub over TLS, the STUN/TURN servers, the keyring, the "
                    "encrypted database and the video encoding speed. Each check passes, warns "
                    "or fails with what to do. Exit code 0 when no required check fails, 1 "
                    "otherwise.")
    check.add_argument("--json", action="store_true",
                       help='print one JSON object, {"ok": …, "checks": […]}, and nothing else')


def run(args: argparse.Namespace, config: SiteConfig, *, data_dir: Path,
        hub_url: str | None = None) -> int:
    """Run every check; ``hub_url`` (from the command line) wins over the site's."""
    checks = default_checks(
        data_dir=data_dir, hub_url=hub_url or config.hub_url,
        ice_servers=config.ice_servers)
    if args.json:
        results = run_checks(checks)
        ok = ready(results)
        json.dump({"ok": ok, "checks": [r.as_json() for r in results]}, sys.stdout, indent=2,
                  ensure_ascii=False)
        sys.stdout.write("\n")
        return 0 if ok else 1

    def show(result: CheckResult) -> None:
        print(describe(result), flush=True)

    results = run_checks(checks, on_result=show)
    print(summary(results))
    return 0 if ready(results) else 1


def describe(result: CheckResult) -> str:
    """``PASS  Camera          what was found`` and, unless it passed, ``Fix: …`` below."""
    name = result.name if result.required else f"{result.name} (optional)"
    indent = " " * (6 + LABEL)
    head = f"{result.status.upper():<5} {name:<{LABEL}}"
    if len(name) >= LABEL:
        head += " "
    lines = [textwrap.fill(result.message, WIDTH, initial_indent=head,
                           subsequent_indent=indent)]
    if result.fix:
        lines.append(textwrap.fill(f"Fix: {result.fix}", WIDTH, initial_indent=indent,
                                   subsequent_indent=indent + "     "))
    return "\n".join(lines)


def summary(results: list[CheckResult]) -> str:
    blocking = [r.name for r in results if r.blocks]
    warnings = sum(r.status == "warn" for r in results)
    optional_failed = [r.name for r in results if r.status == "fail" and not r.required]
    notes = []
    if warnings:
        notes.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    if optional_failed:
        notes.append(f"optional check failed: {', '.join(optional_failed)}")
    extra = f" ({'; '.join(notes)})" if notes else ""
    if blocking:
        return (f"\nNot ready: {len(blocking)} required check{'s' if len(blocking) != 1 else ''}"
                f" failed: {', '.join(blocking)}{extra}.")
    return f"\nReady: every required check passed{extra}."

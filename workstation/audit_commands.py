"""`workstation audit`: check the audit log's chain, and report who did what in a time range.

The report shows which patients' records were opened, and by whom: it is itself an access, and
is audited (``audit.report``) before anything is printed.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from workstation.core.audit import AuditEvent, AuditOutcome
from workstation.core.site import SiteConfig
from workstation.db_arguments import add_database_arguments

REPORT_COLUMNS = ("id", "at", "actor", "action", "outcome", "patient_id", "visit_id", "detail")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser("audit", help="the audit log: check it, report from it")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser(
        "verify", help="check that no audit event was edited, removed, added or moved",
        description="Recompute the audit log's hash chain. Exit code 0 when it is intact; 1 "
                    "naming the first event where it breaks.")
    add_database_arguments(verify)
    report = audit_sub.add_parser(
        "report", help="the audit events of a time range (a table, or CSV)",
        description="Print the audit events from --from up to --to, oldest first. A date "
                    "means that whole day, a date and time (2026-11-24T09:30) that moment, in "
                    "the site's time zone unless it carries an offset. The report is audited.")
    add_database_arguments(report)
    report.add_argument("--from", required=True, dest="start", metavar="DATE",
                        help="the first day (or moment) to include")
    report.add_argument("--to", required=True, dest="end", metavar="DATE",
                        help="the last day to include (or the moment to stop before)")
    report.add_argument("--patient", metavar="ID", help="only this patient's events")
    report.add_argument("--csv", action="store_true", help="CSV instead of a table")


def run(args: argparse.Namespace, config: SiteConfig, *, actor: str) -> int:
    if args.audit_command == "verify":
        return _verify(args.db)
    return _report(args, ZoneInfo(config.time_zone), actor)


def _verify(url: str) -> int:
    from workstation.storage.database import open_store

    store = open_store(url, upgrade_schema=False)
    try:
        check = store.verify_audit_chain()
    finally:
        store.close()
    broken = check.first_break
    if broken is None:
        print(f"OK: {check.events} event{'' if check.events == 1 else 's'}, chain intact")
        return 0
    where = f" at event {broken.event_id}" if broken.event_id is not None else ""
    print(f"BROKEN{where}: {broken.breach} ({broken.explanation}).")
    print("Keep this database unchanged for the investigation, and compare its audit log "
          "with a backup's.")
    return 1


def _report(args: argparse.Namespace, zone: ZoneInfo, actor: str) -> int:
    from workstation.storage.database import open_store

    try:
        start = moment(args.start, zone, end=False)
        end = moment(args.end, zone, end=True)
    except ValueError as exc:
        print(f"workstation: {exc}", file=sys.stderr)
        return 2
    if end <= start:
        print("workstation: --to is before --from; nothing to report.", file=sys.stderr)
        return 2
    store = open_store(args.db, upgrade_schema=False)
    try:
        store.audit(AuditEvent(  # before anything of the log leaves the program
            datetime.now(UTC), actor, "audit.report", AuditOutcome.SUCCESS, args.patient,
            detail=f"{start.astimezone(UTC).isoformat()}/{end.astimezone(UTC).isoformat()}"
                   f"{' csv' if args.csv else ''}"))
        rows = ((str(e.id), e.event.at.astimezone(zone).isoformat(timespec="seconds"),
                 e.event.actor, e.event.action, str(e.event.outcome), e.event.patient_id or "",
                 e.event.visit_id or "", e.event.detail)
                for e in store.audit_log_between(start, end, patient_id=args.patient))
        if args.csv:
            out = csv.writer(sys.stdout, lineterminator="\n")
            out.writerow(REPORT_COLUMNS)
            out.writerows(rows)
        else:
            _print_table(list(rows))
    finally:
        store.close()
    return 0


def moment(value: str, zone: ZoneInfo, *, end: bool) -> datetime:
    """A --from or --to value as an aware datetime. A date is its day's start in the site's
    zone; as the end of a range, the next day's start (so the day is included)."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        pass
    else:
        return datetime.combine(day + timedelta(days=1) if end else day, time(0), zone)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (2026-11-24) or a date and time "
                         "(2026-11-24T09:30).") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=zone)


def _print_table(body: Sequence[tuple[str, ...]]) -> None:
    table = [REPORT_COLUMNS, *body]
    widths = [max(len(r[i]) for r in table) for i in range(len(REPORT_COLUMNS))]
    for i, r in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print(f"{len(body)} event{'' if len(body) == 1 else 's'}")

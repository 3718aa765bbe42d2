"""The command line: the workstation app (default), the clinic hub, database and accounts."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from workstation import (
    __version__,
    audit_commands,
    demo_commands,
    readiness_commands,
    second_factor_commands,
)
from workstation.core.site import SiteConfig, SiteConfigError
from workstation.db_arguments import add_database_arguments, database_url
from workstation.settings import (
    Settings,
    describe,
    installer_updates,
    load_settings,
    system_site_path,
    user_data_dir,
    write_site,
)

log = logging.getLogger("workstation")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workstation",
        description="Provider workstation for telehealth video visits. With no command it "
                    "opens the workstation on its embedded hub.",
    )
    parser.add_argument("--version", action="version", version=f"workstation {__version__}")
    parser.add_argument("--site", type=Path, help="site configuration file (TOML)")
    parser.add_argument("--data-dir", type=Path, help="folder for the local database")
    parser.add_argument("--hub-url", help="use this clinic hub instead of the embedded one")
    parser.add_argument("--demo", action="store_true",
                        help="training mode: simulated patients on a separate demo database, "
                             "a fresh day each start (see docs/TRAINERS.md)")
    parser.add_argument("--scenario", metavar="NAME",
                        help="with --demo: the scenario to start with (a shipped one's name "
                             "or a .toml file; default clinic-morning)")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command")

    hub = sub.add_parser("hub", help="run the visit hub for a clinic")
    hub.add_argument("--host", default="127.0.0.1")
    hub.add_argument("--port", type=int, default=8443)
    add_database_arguments(hub)
    hub.add_argument("--tls-cert", type=Path)
    hub.add_argument("--tls-key", type=Path)

    bench = sub.add_parser("bench", help="measure against reference baselines")
    bench.add_argument("--quick", action="store_true", help="fewer, shorter runs")
    bench.add_argument("--json", type=Path, help="also write the figures to this file")
    bench.add_argument("--soak", type=float, metavar="MINUTES",
                       help="also a long 720p call: the workstation's memory growth")
    bench.add_argument("--only", choices=("hub", "slow-clients", "startup", "call", "demo"),
                       action="append",
                       help="just these measurements (repeatable)")
    bench.add_argument("--app", metavar="PATH",
                       help="startup: also start this installed bundle's workstation (as "
                            "/opt/workstation/workstation) after each start from here")

    demo_commands.add_parser(sub)
    readiness_commands.add_parser(sub)
    config = sub.add_parser("config", help="the settings in effect")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    config_sub.add_parser("show", help="every setting's value and the file it came from "
                                       "(site settings win over the user's and are locked)")
    write = config_sub.add_parser(
        "write-site", help="set keys in the site file (what the installers' properties do)",
        description="Set the given keys in the site file, keeping its other keys and comments. "
                    "Empty values are left out. The result is checked before anything is "
                    "written. Exit code 0 when written, 2 when a value is refused.")
    write.add_argument("--out", type=Path, metavar="FILE",
                       help=f"the site file (default: {system_site_path()})")
    write.add_argument("--hub-url", default="", help="the clinic hub (https://…)")
    write.add_argument("--ice-servers", default="", metavar="URLS",
                       help="STUN/TURN addresses separated by spaces (stun:…, turns:…)")
    write.add_argument("--turn-username", default="")
    write.add_argument("--turn-credential", default="")
    write.add_argument("--lock-minutes", default="", metavar="MINUTES")
    write.add_argument("--site-name", default="")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="bring the schema up to date")
    add_database_arguments(upgrade)

    provider = sub.add_parser("provider", help="provider accounts")
    provider_sub = provider.add_subparsers(dest="provider_command", required=True)
    add = provider_sub.add_parser("add", help="create a provider account")
    add_database_arguments(add)
    add.add_argument("--username", required=True)
    add.add_argument("--name", required=True, help="name shown to patients")
    add.add_argument("--service-line", action="append", required=True, dest="service_lines")
    add.add_argument("--npi", default="",
                     help="the provider's 10-digit NPI, printed on their prescriptions "
                          "(checked; without it the hub refuses to send their scripts)")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from standard input")
    second_factor_commands.add_parsers(provider_sub)

    export = sub.add_parser("export", help="export patient records")
    export_sub = export.add_subparsers(dest="export_command", required=True)
    fhir = export_sub.add_parser(
        "fhir", help="a signed visit as a FHIR R4 Bundle (JSON)",
        description="Write a signed visit as a FHIR R4 Bundle (JSON). The export is audited. "
                    "The file holds patient data: it is created readable by you only.")
    fhir.add_argument("visit_id", metavar="VISIT_ID", help="the visit's id")
    add_database_arguments(fhir)
    fhir.add_argument("--out", type=Path, metavar="FILE",
                      help="write to this file instead of standard output")
    fhir.add_argument("--force", action="store_true", help="replace FILE if it exists")

    audit_commands.add_parser(sub)

    erx = sub.add_parser("erx", help="e-prescribing messages")
    erx_sub = erx.add_subparsers(dest="erx_command", required=True)
    validate = erx_sub.add_parser(
        "validate", help="check a NewRx or CancelRx file (NCPDP SCRIPT 2017071)",
        description="Check a NewRx or CancelRx (NCPDP SCRIPT 2017071 XML) and print each "
                    "missing or malformed field. Exit code 0 only for a complete message; 1 "
                    "when fields are missing or malformed; 2 when the file cannot be read.")
    validate.add_argument("file", type=Path, metavar="FILE.xml")
    return parser


def _erx_validate(path: Path) -> int:
    from workstation.core.ncpdp_check import check_message

    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"workstation: {path} could not be read: {exc.strerror or exc}", file=sys.stderr)
        return 2
    problems = check_message(data)
    for problem in problems:
        print(f"{path}: {problem}")
    if problems:
        print(f"{path}: {len(problems)} problem{'s' if len(problems) != 1 else ''}; "
              "not a complete message.")
        return 1
    print(f"{path}: complete.")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from workstation.log_limits import limit_log_floods

    limit_log_floods()
    if args.command == "config" and args.config_command == "write-site":
        return _write_site(args)  # before the file is read: it may be what needs mending
    try:
        settings = load_settings(args.site)
        config = settings.config
        if hasattr(args, "db_file"):
            args.db = database_url(args)
    except (SiteConfigError, ValueError) as exc:
        print(f"workstation: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "hub":
            return _run_hub(args, config)
        if args.command == "bench":
            from workstation.bench import runner

            return runner.run(quick=args.quick, json_path=args.json, soak_minutes=args.soak,
                              only=set(args.only or ()), app=args.app)
        if args.command == "config":
            print("\n".join(describe(settings)))
            return 0
        if args.command == "check":
            return readiness_commands.run(args, config, data_dir=args.data_dir or user_data_dir(),
                                          hub_url=_hub_url(args, settings))
        if args.command == "db":
            return _db_upgrade(args.db)
        if args.command == "demo":
            return demo_commands.run(args, config)
        if args.command == "provider" and args.provider_command != "add":
            return second_factor_commands.run(args, config, actor=f"cli:{_os_user()}")
        if args.command == "provider":
            return _provider_add(args, config)
        if args.command == "export":
            return _export_fhir(args)
        if args.command == "audit":
            return _audit(args, config)
        if args.command == "erx":
            return _erx_validate(args.file)
        from workstation.app import run  # Qt is imported only when the window is wanted

        if args.scenario and not args.demo:
            print("workstation: --scenario goes with --demo.", file=sys.stderr)
            return 2
        return run(config=config, data_dir=args.data_dir or user_data_dir(),
                   hub_url=None if args.demo else _hub_url(args, settings),
                   demo=args.demo, scenario=args.scenario, settings=settings)
    except (RuntimeError, ValueError, OSError) as exc:
        print(f"workstation: {exc}", file=sys.stderr)
        return 1


def _hub_url(args: argparse.Namespace, settings: Settings) -> str | None:
    """--hub-url, else the settings' hub_url; empty: the embedded hub. A hub the site file
    sets is locked: another on the command line is refused, not quietly used."""
    chosen = settings.config.hub_url
    if args.hub_url and args.hub_url != chosen and "hub_url" in settings.locked:
        raise ValueError(f"the site file ({settings.origins['hub_url']}) sets the hub to "
                         f"{chosen} and locks it; --hub-url {args.hub_url} is not used.")
    return args.hub_url or chosen or None


def _write_site(args: argparse.Namespace) -> int:
    path = args.out or system_site_path()
    try:
        updates = installer_updates(
            hub_url=args.hub_url, ice_servers=args.ice_servers,
            turn_username=args.turn_username, turn_credential=args.turn_credential,
            lock_minutes=args.lock_minutes, site_name=args.site_name)
        if not updates:
            print(f"workstation: nothing to write; {path} is unchanged.")
            return 0
        write_site(path, updates)
    except SiteConfigError as exc:
        print(f"workstation: {exc} {path} is unchanged.", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"workstation: {path} could not be written: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    print(f"{path}: set {', '.join(sorted(updates))}.")
    return 0


def _db_upgrade(url: str) -> int:
    from workstation.storage import migrate, privileges
    from workstation.storage.database import make_engine

    engine = make_engine(url)
    try:
        before = migrate.current_revision(engine)
        migrate.upgrade(engine)
        after = migrate.current_revision(engine)
        print(f"Database schema: {before or 'empty'} -> {after}")
        if engine.dialect.name == "postgresql":
            left = privileges.lock_down(engine)
            if not left:
                print("Other database roles: no right to connect or to the hub's tables.")
            for item in left:
                print(f"Still to do by the database's owner or a superuser: {item.what}.\n"
                      f"    {item.statement}")
    finally:
        engine.dispose()
    return 0


def _provider_add(args: argparse.Namespace, config) -> int:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from workstation.core.demo import is_demo_username
    from workstation.core.people import Provider
    from workstation.core.practice import npi_problem
    from workstation.hub.auth import hash_password
    from workstation.storage.accounts import UsernameTaken
    from workstation.storage.database import open_store
    from workstation.storage.store import new_id

    unknown = [c for c in args.service_lines if config.service_line(c) is None]
    if unknown:
        codes = ", ".join(s.code for s in config.service_lines)
        print(f"workstation: unknown service line {', '.join(unknown)}; this site has: {codes}",
              file=sys.stderr)
        return 2
    if args.npi and (wrong := npi_problem(args.npi)) is not None:
        print(f"workstation: --npi {args.npi}: {wrong} Nothing was created.", file=sys.stderr)
        return 2
    if is_demo_username(args.username):
        print(f"workstation: the username {args.username!r} is kept for the demo; choose "
              "another. Nothing was created.", file=sys.stderr)
        return 2
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("workstation: the passwords differ; nothing was created.", file=sys.stderr)
            return 2
    if len(password) < 10:
        print("workstation: use a password of at least 10 characters.", file=sys.stderr)
        return 2
    store = open_store(args.db, upgrade_schema=False)
    try:
        store.add_provider(
            Provider(new_id(), args.username, args.name, tuple(args.service_lines), args.npi),
            hash_password(password), datetime.now(UTC))
    except UsernameTaken as exc:
        print(f"workstation: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"Created provider {args.username}.")
    return 0


def _run_hub(args: argparse.Namespace, config) -> int:  # type: ignore[no-untyped-def]
    from workstation.erx.sender import sender_factory
    from workstation.hub.guard import raise_open_file_limit
    from workstation.hub.server import start_hub, tls_context
    from workstation.payments.choice import processor_for
    from workstation.resource_files import load_resources
    from workstation.storage import privileges
    from workstation.storage.database import open_store

    if bool(args.tls_cert) != bool(args.tls_key):
        print("workstation: give both --tls-cert and --tls-key.", file=sys.stderr)
        return 2
    if not args.tls_cert and args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("Serving on %s without TLS: use --tls-cert/--tls-key or a TLS proxy; "
                    "browsers allow camera access only over HTTPS.", args.host)
    ssl_context = tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None
    processor = processor_for(config, embedded=False)  # refused before anything starts
    raise_open_file_limit()
    store = open_store(args.db, upgrade_schema=False)
    for item in privileges.remaining(store.engine):
        log.warning("Database: %s (see the README's section for the DBA): %s",
                    item.what, item.statement)
    resources = load_resources()

    async def serve() -> None:
        hub = await start_hub(store, config, resources, host=args.host, port=args.port,
                              ssl_context=ssl_context, outbox=sender_factory(),
                              processor=processor)
        log.info("Visit hub serving at %s", hub.url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("Stopping the visit hub")
        await hub.close()

    try:
        asyncio.run(serve())
    finally:
        store.close()
    return 0


def _missing_database_file(url: str) -> Path | None:
    """For commands that only read: an SQLite path that does not exist (or is empty) would
    otherwise be created, with a new key, and then reported as an old schema."""
    if url.startswith(("postgresql", "postgres")):
        return None
    path = Path(url.split("///", 1)[1] if url.startswith("sqlite") else url).expanduser()
    return None if path.is_file() and path.stat().st_size > 0 else path


def _audit(args: argparse.Namespace, config: SiteConfig) -> int:
    missing = _missing_database_file(args.db)
    if missing is not None:
        print(f"workstation: there is no database at {missing}; check --db.", file=sys.stderr)
        return 2
    return audit_commands.run(args, config, actor=f"cli:{_os_user()}")


def _export_fhir(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from workstation.core.audit import AuditEvent, AuditOutcome
    from workstation.hub.chart_service import NotSigned, visit_bundle_json
    from workstation.resource_files import load_resources
    from workstation.storage.database import open_store
    from workstation.storage.store import VisitNotFound

    out: Path | None = args.out
    if out is not None and out.is_dir():
        print(f"workstation: {out} is a folder; give a file name.", file=sys.stderr)
        return 2
    if out is not None and out.exists() and not args.force:
        print(f"workstation: {out} already exists; nothing was written. Choose another file "
              "or add --force to replace it.", file=sys.stderr)
        return 2
    missing = _missing_database_file(args.db)
    if missing is not None:
        print(f"workstation: there is no database at {missing}; check --db.", file=sys.stderr)
        return 2
    resources = load_resources()
    names = {c.code: c.name for c in resources.conditions}

    def condition_name(code: str) -> str:  # as the hub names it (VisitService.condition_name)
        return names.get(code) or code.replace("_", " ").capitalize()

    store = open_store(args.db, upgrade_schema=False)
    try:
        try:
            bundle = visit_bundle_json(store, resources, args.visit_id, condition_name)
            patient_id = store.visit(args.visit_id).patient_id
        except VisitNotFound:
            print(f"workstation: there is no visit {args.visit_id} in this database; check the "
                  "visit id.", file=sys.stderr)
            return 1
        except NotSigned as exc:
            print(f"workstation: {exc} Visit {args.visit_id} has no signed note yet; sign it "
                  "in the workstation first.", file=sys.stderr)
            return 1
        text = bundle if bundle.endswith("\n") else bundle + "\n"
        event = AuditEvent(datetime.now(UTC), f"cli:{_os_user()}", "chart.export",
                           AuditOutcome.SUCCESS, patient_id, args.visit_id, detail="fhir")
        if out is None:
            store.audit(event)  # audited before any patient data leaves the program
            sys.stdout.write(text)
            sys.stdout.flush()
            return 0
        try:
            _write_private(out, text, replace=args.force,
                           before_write=lambda: store.audit(event))
        except FileExistsError:  # created by someone else since the check above
            print(f"workstation: {out} already exists; nothing was written. Choose another "
                  "file or add --force to replace it.", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"workstation: cannot write {out}: {exc.strerror or exc}.", file=sys.stderr)
            return 1
    finally:
        store.close()
    print(f"Exported visit {args.visit_id} to {out}.", file=sys.stderr)
    return 0


def _write_private(path: Path, text: str, *, replace: bool,
                   before_write: Callable[[], None]) -> None:
    """Write a file only its owner can read (mode 0600 from the first byte).

    The file is created first, so a folder that cannot be written fails before ``before_write``
    (the audit) runs; if that fails, the empty file is removed again. Without ``replace`` an
    existing file is never touched; with it, the old file is swapped out only once the new one is
    complete.
    """
    if replace:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        created = Path(tmp_name)
    else:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        created = path
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            if os.name == "posix":
                os.fchmod(f.fileno(), 0o600)
            before_write()
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(created, path)
    except BaseException:
        created.unlink(missing_ok=True)
        raise


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment or the password database
        return "unknown"

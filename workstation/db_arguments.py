"""Which database a command works on: given so that its password stays off the command line."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

log = logging.getLogger("workstation")

DB_URL_ENV = "WORKSTATION_DB_URL"


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    """``--db URL``, or ``--db-file FILE`` holding it, or the environment: a PostgreSQL URL
    carries a password, which the command line shows to every account (ps, /proc)."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--db", help="database URL (postgresql://… or an SQLite file path)")
    where.add_argument("--db-file", type=Path, metavar="FILE",
                       help="read the database URL from the first line of FILE (chmod 600)")


def database_url(args: argparse.Namespace) -> str:
    """The database the command was given: --db, --db-file, else $WORKSTATION_DB_URL."""
    if args.db:
        return str(args.db)
    if args.db_file is not None:
        try:
            line = args.db_file.read_text(encoding="utf-8").strip().splitlines()
        except OSError as exc:
            raise ValueError(f"Cannot read --db-file {args.db_file}: {exc.strerror}.") from exc
        if not line or not line[0].strip():
            raise ValueError(f"--db-file {args.db_file} is empty: put the database URL on "
                             "its first line.")
        if os.name == "posix" and args.db_file.stat().st_mode & 0o077:
            log.warning("%s can be read by other accounts; it holds the database password. "
                        "Run: chmod 600 %s", args.db_file, args.db_file)
        return str(line[0].strip())
    if os.environ.get(DB_URL_ENV):
        return os.environ[DB_URL_ENV]
    raise ValueError(f"Say which database: --db URL, --db-file FILE, or {DB_URL_ENV}.")

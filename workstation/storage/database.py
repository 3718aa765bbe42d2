"""Database URLs and engines: encrypted SQLite by default, PostgreSQL for a clinic."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DatabaseError
from sqlalchemy.pool import QueuePool

from workstation.storage.keystore import database_key, forget_database_key

if TYPE_CHECKING:
    from workstation.storage.store import VisitStore

DEFAULT_FILE_NAME = "workstation.db"


def default_sqlite_path(data_dir: Path) -> Path:
    return data_dir / DEFAULT_FILE_NAME


def encrypted_sqlite_url(path: Path, key_hex: str) -> URL:
    """SQLCipher URL with a raw 256-bit key (skips the per-connection key derivation)."""
    return URL.create("sqlite+pysqlcipher", password=f"x'{key_hex}'", database=str(path))


def resolve_url(url: str | URL) -> URL:
    """Turn what a user passes (``sqlite:///file``, ``postgresql://…``) into a driver URL.

    A plain file path or ``sqlite:`` file URL is opened encrypted, with the key from the OS
    keyring.
    """
    if isinstance(url, str) and "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().resolve()}"  # a plain file path
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed
    if parsed.get_backend_name() == "sqlite":
        if parsed.drivername == "sqlite+pysqlcipher":
            return parsed
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError("An in-memory database would lose every visit; give a file path.")
        path = _key_path(parsed.database)
        # A key is made only for a new database: for an existing one, a missing key is an
        # error to report, never a reason to start a fresh key the data cannot be read with.
        holds_data = path.exists() and path.stat().st_size > 0
        if holds_data and _is_plain_sqlite(path):
            raise DatabaseUnreadable(
                f"The file {path} is a plain, unencrypted SQLite file: not a workstation "
                "database. Nothing was changed. Choose another file."
            )
        return encrypted_sqlite_url(path, database_key(str(path), create=not holds_data))
    raise ValueError(
        f"Unsupported database {parsed.get_backend_name()!r}: use an SQLite file path or a "
        "postgresql:// URL."
    )


def _key_path(database: str | Path) -> Path:
    """The SQLite file as its key is named in the keyring."""
    return Path(database).expanduser().resolve()


def forget_sqlite_key(database: Path) -> None:
    """Remove the keyring's key of an SQLite database that was deleted."""
    forget_database_key(str(_key_path(database)))


def private_directory(path: Path) -> None:
    """Create ``path`` and any missing parent readable by this account only (0700); folders
    that exist already are left as they are."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)


def make_engine(url: str | URL) -> Engine:
    resolved = resolve_url(url)
    if resolved.get_backend_name() == "sqlite":
        assert resolved.database is not None
        db_path = Path(resolved.database)
        private_directory(db_path.parent)
        if os.name == "posix":
            # Owner-only from the first byte; SQLite would create it with the umask (0644).
            os.close(os.open(db_path, os.O_CREAT | os.O_WRONLY, 0o600))
            os.chmod(db_path, 0o600)
        engine = create_engine(
            resolved,
            poolclass=QueuePool,
            pool_size=8,
            max_overflow=16,
            connect_args={"check_same_thread": False, "timeout": 30},
            hide_parameters=True,  # error messages must never carry patient data into logs
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(resolved, pool_size=10, max_overflow=20, pool_pre_ping=True,
                         hide_parameters=True)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy own transactions (BEGIN IMMEDIATE below), as its docs recommend for pysqlite.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_on_begin(conn: Any) -> None:
    # Take the write lock up front: no deadlock between two readers that both want to write.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def open_store(url: str | URL, *, upgrade_schema: bool = True) -> VisitStore:
    """Open the database, bringing its schema up to date when asked (the embedded default).

    A clinic server runs ``workstation db upgrade`` explicitly; a hub started on an older
    schema is refused with that instruction rather than failing on the first query.
    """
    # Migrations (Alembic) and the store load only here: the local draft cache, which also
    # makes its engine in this module, must not pay for them at start.
    from workstation.storage import migrate
    from workstation.storage.store import VisitStore

    engine = make_engine(url)
    try:
        with engine.connect():
            pass
    except DatabaseError as exc:
        engine.dispose()
        if engine.dialect.name == "sqlite":
            raise DatabaseUnreadable(
                f"The database file {engine.url.database} cannot be opened with the key in "
                "this account's keyring (a different key, or not a workstation database). "
                "Nothing was changed. Restore the keyring entry or choose another file."
            ) from exc
        raise DatabaseUnreadable(f"The database cannot be reached: {exc.orig}") from exc
    if upgrade_schema:
        migrate.upgrade(engine)
    elif not migrate.is_current(engine):
        engine.dispose()
        raise SchemaOutOfDate(
            "The database schema is older than this program. Run: workstation db upgrade --db URL"
        )
    return VisitStore(engine)


class SchemaOutOfDate(RuntimeError):
    pass


class DatabaseUnreadable(RuntimeError):
    pass


def _is_plain_sqlite(path: Path) -> bool:
    # An SQLCipher file starts with random salt; only an unencrypted one has SQLite's header.
    with path.open("rb") as f:
        return f.read(16) == b"SQLite format 3\x00"


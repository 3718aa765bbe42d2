"""What a clinic's PostgreSQL database gives roles other than the hub's, and taking it back.

Any role that can connect may LISTEN and NOTIFY on the hub's channel; the channel carries only
ids (see ``notify``), but a role that can connect can also try its luck with everything granted
to PUBLIC. ``workstation db upgrade`` takes back what the hub's role may take back as owner;
what needs the database's owner or a superuser is reported with the statement to run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

_PUBLIC_ON_DATABASE = text(
    "SELECT count(*) FROM pg_database d, "
    "aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a "
    "WHERE d.datname = current_database() AND a.grantee = 0")
_PUBLIC_CREATE_ON_SCHEMA = text(
    "SELECT count(*) FROM pg_namespace n, "
    "aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a "
    "WHERE n.nspname = current_schema() AND a.grantee = 0 AND a.privilege_type = 'CREATE'")
_TABLES_SHARED = text(
    "SELECT DISTINCT c.relname FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a "
    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'S', 'v') "
    "AND a.grantee <> c.relowner ORDER BY 1")


@dataclass(frozen=True)
class Remaining:
    """Something other roles can still do, and the statement that stops it."""

    what: str
    statement: str


def lock_down(engine: Engine) -> list[Remaining]:
    """Revoke from PUBLIC the database's connect right, the schema's create right and every
    right on the hub's tables; return what is left to do (rights a DBA gave named roles are
    reported, never taken: they may be another hub's)."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        database = conn.execute(text("SELECT current_database()")).scalar_one()
        role = conn.execute(text("SELECT current_user")).scalar_one()
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    db, me, ns = _quoted(database), _quoted(role), _quoted(schema)
    # The hub keeps its own right to connect before PUBLIC loses it.
    _try(engine, f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {me}",
         f"REVOKE ALL ON DATABASE {db} FROM PUBLIC",
         f"REVOKE CREATE ON SCHEMA {ns} FROM PUBLIC")
    with engine.connect() as conn:
        tables = list(conn.execute(_TABLES_SHARED).scalars())
    for table in tables:
        _try(engine, f"REVOKE ALL ON TABLE {ns}.{_quoted(table)} FROM PUBLIC")
    return remaining(engine)


def remaining(engine: Engine) -> list[Remaining]:
    """What roles other than the hub's may still do in its database."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        database = conn.execute(text("SELECT current_database()")).scalar_one()
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        left: list[Remaining] = []
        if conn.execute(_PUBLIC_ON_DATABASE).scalar_one():
            left.append(Remaining(
                f"every role may connect to the database {database}",
                f"REVOKE ALL ON DATABASE {_quoted(database)} FROM PUBLIC; "
                f"GRANT CONNECT ON DATABASE {_quoted(database)} TO <the hub's role>;"))
        if conn.execute(_PUBLIC_CREATE_ON_SCHEMA).scalar_one():
            left.append(Remaining(
                f"every role may create objects in the schema {schema}",
                f"REVOKE CREATE ON SCHEMA {_quoted(schema)} FROM PUBLIC;"))
        for table in conn.execute(_TABLES_SHARED).scalars():
            left.append(Remaining(
                f"other roles hold rights on the table {table}",
                f"REVOKE ALL ON TABLE {_quoted(schema)}.{_quoted(table)} FROM <each role "
                "that is not a hub's, as listed by \\dp>;"))
    return left


def _try(engine: Engine, *statements: str) -> None:
    for statement in statements:
        try:
            with engine.begin() as conn:
                conn.execute(text(statement))
        except DBAPIError as exc:
            # Not the owner: the report that follows says what the DBA is to run.
            log.info("Could not run %s (%s)", statement.split(" ON ")[0],
                     type(exc.orig).__name__)


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'

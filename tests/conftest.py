"""Fixtures shared by every test: a keyring in memory, real databases, a fixed clock."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import keyring
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ProgrammingError

from tests.memory_keyring import MemoryKeyring
from tests.stripe_double import StripeDouble, running_double
from workstation.core.site import SiteConfig
from workstation.resource_files import Resources, load_resources
from workstation.storage.database import open_store
from workstation.storage.store import VisitStore

pytest_plugins = ["tests.hub_fixtures"]

PG_URL_ENV = "WORKSTATION_TEST_PG_URL"
# No test reads this machine's site file (/etc/workstation/site.toml, which the package test
# installs) or the user's own settings and window layout: the tests and every workstation
# they start get their own, empty, places.
_ISOLATED = Path(tempfile.mkdtemp(prefix="workstation-tests-"))
os.environ["WORKSTATION_SYSTEM_SITE"] = str(_ISOLATED / "no-site.toml")
os.environ["XDG_CONFIG_HOME"] = str(_ISOLATED / "config")

# A Tuesday at 10:00 in Chicago: inside the default service hours.
OPEN_NOW = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)


@pytest.fixture
def site() -> SiteConfig:
    return SiteConfig()


@pytest.fixture(scope="session")
def resources() -> Resources:
    return load_resources()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[VisitStore]:
    store = open_store(f"sqlite:///{tmp_path / 'visits.db'}")
    yield store
    store.close()


def pg_url() -> str:
    url = os.environ.get(PG_URL_ENV)
    if not url:
        pytest.fail(
            f"{PG_URL_ENV} is not set: run the PostgreSQL tests through 'make test', which "
            "starts the server. Deselect them with -m 'not postgres' for a quick local run."
        )
    return url


@contextlib.contextmanager
def fresh_pg_database(prefix: str = "ws_test") -> Iterator[URL]:
    """A new, empty database on the real PostgreSQL server, dropped afterwards."""
    base = make_url(pg_url())
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name)
    finally:
        _drop_database(admin, name)
        admin.dispose()


def _drop_database(admin: Engine, name: str) -> None:
    """DROP ... WITH (FORCE), again for a few seconds while it is refused: a connection to the
    database that is still authenticating (a test's sender process starting up) has no role
    yet, and the server refuses to end it ("must be a member of the role whose process is
    being terminated") until it has one."""
    deadline = time.monotonic() + 10
    while True:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except ProgrammingError as exc:
            refused = getattr(exc.orig, "sqlstate", None) == "42501"  # insufficient_privilege
            if not refused or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def pg_store() -> Iterator[VisitStore]:
    """A fresh database on the real PostgreSQL server for each test."""
    with fresh_pg_database() as url:
        store = open_store(url)
        try:
            yield store
        finally:
            store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> VisitStore:
    """Both databases users have: the embedded default and the clinic server."""
    name = "sqlite_store" if request.param == "sqlite" else "pg_store"
    return request.getfixturevalue(name)


@pytest.fixture
async def stripe_double() -> AsyncIterator[tuple[StripeDouble, str]]:
    """The local server answering as Stripe's API does (and its Stripe.js): it, and its
    address."""
    async with running_double() as running:
        yield running


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database (no schema yet) on each kind of server, plain (no encryption): for
    migrations run against what an older version left."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
        yield engine
        engine.dispose()
        return
    with fresh_pg_database("ws_empty") as url:
        engine = create_engine(url)
        yield engine
        engine.dispose()

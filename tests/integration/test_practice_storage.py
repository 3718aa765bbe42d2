"""The practice details in the database (migration 0006, the site settings table) and the
site's first provider, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, update

from tests.conftest import OPEN_NOW
from workstation.core.people import Address, Provider
from workstation.core.practice import Practice
from workstation.storage import migrate
from workstation.storage.accounts import UsernameTaken
from workstation.storage.orm import Base, ProviderRow, SiteSettingRow
from workstation.storage.site_settings import SiteSettingsStore
from workstation.storage.store import VisitStore

AUSTIN = Address("500 Clinic Way", "Austin", "TX", "78702", "Suite 2")


def _downgrade(engine: Engine, revision: str) -> None:
    config = migrate._config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def test_migration_0006_adds_the_site_settings_and_goes_back(empty_engine: Engine):
    migrate.upgrade(empty_engine, "0005")
    assert "site_settings" not in inspect(empty_engine).get_table_names()

    migrate.upgrade(empty_engine, "0006")
    assert migrate.current_revision(empty_engine) == "0006"
    with empty_engine.connect() as conn:  # the table is what the model says
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in differences if "site_settings" in repr(d)] == []
    assert {c["name"] for c in inspect(empty_engine).get_columns("site_settings")} == {
        "key", "value", "updated_at", "updated_by"}

    _downgrade(empty_engine, "0005")
    assert migrate.current_revision(empty_engine) == "0005"
    assert "site_settings" not in inspect(empty_engine).get_table_names()
    migrate.upgrade(empty_engine)  # and on to the newest schema
    assert migrate.current_revision(empty_engine) == migrate.head_revision()
    assert "site_settings" in inspect(empty_engine).get_table_names()


def test_the_practice_is_kept_replaced_and_forgotten(store: VisitStore):
    settings = SiteSettingsStore(store)
    assert settings.practice() == Practice()

    settings.save_practice(Practice(AUSTIN, "512-555-0100"), now=OPEN_NOW, actor="test")
    assert settings.practice() == Practice(AUSTIN, "512-555-0100")

    dallas = Address("1 Main St", "Dallas", "TX", "75201")
    later = OPEN_NOW + timedelta(days=1)
    settings.save_practice(Practice(dallas, ""), now=later, actor="provider:x")
    assert settings.practice() == Practice(dallas, "")  # no phone kept: the file's applies
    with store.sessions() as s:
        kept = {r.key: (r.updated_at, r.updated_by) for r in s.scalars(select(SiteSettingRow))}
    assert kept == {"practice.address": (later, "provider:x")}


def test_the_npi_and_the_practice_change_together(store: VisitStore):
    provider = store.add_provider(Provider(str(uuid.uuid4()), "ada", "Dr. Ada",
                                           ("urgent_care",), "1234567893"), "hash", OPEN_NOW)
    settings = SiteSettingsStore(store)

    with pytest.raises(LookupError):  # no such provider: nothing is kept
        settings.save_practice(Practice(AUSTIN, "512-555-0100"), now=OPEN_NOW, actor="test",
                               npi_of="nobody", npi="1245319599")
    assert settings.practice() == Practice()

    settings.save_practice(Practice(AUSTIN, "512-555-0100"), now=OPEN_NOW, actor="test",
                           npi_of=provider.id, npi="1245319599")
    assert store.provider(provider.id).npi == "1245319599"  # type: ignore[union-attr]
    assert settings.practice() == Practice(AUSTIN, "512-555-0100")


def test_the_first_account_keeps_its_practice_in_the_same_transaction(store: VisitStore):
    practice = Practice(AUSTIN, "512-555-0100")
    store.add_provider(Provider(str(uuid.uuid4()), "ada", "Dr. Ada", ("urgent_care",),
                                "1234567893"), "hash", OPEN_NOW, practice=practice)
    assert SiteSettingsStore(store).practice() == practice

    with pytest.raises(UsernameTaken):  # the account fails: its practice is not kept either
        store.add_provider(Provider(str(uuid.uuid4()), "ada", "Dr. Other", ("urgent_care",)),
                           "hash", OPEN_NOW,
                           practice=Practice(Address("1 Main St", "Dallas", "TX", "75201"),
                                             "214-555-0100"))
    assert SiteSettingsStore(store).practice() == practice


def test_the_first_provider_is_the_earliest_active_account(store: VisitStore):
    assert store.first_provider() is None

    def add(username: str, minutes: int) -> Provider:
        return store.add_provider(Provider(str(uuid.uuid4()), username, username.title(),
                                           ("urgent_care",)), "hash",
                                  OPEN_NOW + timedelta(minutes=minutes))

    zed = add("zed", 0)
    add("later", 5)
    amy = add("amy", 0)  # the same moment as zed: the username decides
    assert store.first_provider() == amy
    with store.sessions.begin() as s:
        s.execute(update(ProviderRow).where(ProviderRow.id == amy.id).values(active=False))
    assert store.first_provider() == zed

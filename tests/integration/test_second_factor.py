"""The second factor at sign-in (TOTP, RFC 6238) and the break-glass code, on a real hub over
real sockets; and the commands IT uses to set them up."""

from __future__ import annotations

import dataclasses
import io
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest

from tests.hub_fixtures import PASSWORD, HubContext, running_hub
from workstation.cli import main
from workstation.core import second_factor
from workstation.core.people import Provider
from workstation.hub.auth import hash_password
from workstation.storage.database import open_store


async def with_totp(ctx: HubContext, username: str = "house") -> str:
    await ctx.add_provider(username)
    store = ctx.hub.service.store
    account = store.provider_account(username)
    assert account is not None
    secret = second_factor.new_secret()
    store.set_totp(account.provider.id, secret, ctx.clock(), "cli:it")
    return secret


async def sign_in(ctx: HubContext, code: str | None = None,
                  username: str = "house") -> tuple[int, dict[str, object]]:
    body: dict[str, object] = {"username": username, "password": PASSWORD}
    if code is not None:
        body["code"] = code
    return await ctx.post("/api/auth/sign-in", body)


def actions(ctx: HubContext) -> list[tuple[str, str]]:
    return [(e.action, e.outcome.value) for e in ctx.hub.service.store.audit_events()]


async def test_the_password_alone_is_not_enough_once_the_app_is_set_up(hub_ctx: HubContext):
    secret = await with_totp(hub_ctx)

    status, answer = await sign_in(hub_ctx)
    assert status == 401 and answer["error"]["code"] == "code_required"
    status, answer = await sign_in(hub_ctx, "000000" if pyotp.TOTP(secret).at(
        hub_ctx.clock()) != "000000" else "111111")
    assert status == 401 and answer["error"]["code"] == "bad_code"

    code = pyotp.TOTP(secret).at(hub_ctx.clock())
    status, answer = await sign_in(hub_ctx, code)
    assert status == 200 and answer["token"]
    # The same code again (seen over a shoulder, replayed): refused.
    status, answer = await sign_in(hub_ctx, code)
    assert status == 401 and answer["error"]["code"] == "bad_code"
    # The next period's code works; one from two periods ago does not.
    hub_ctx.clock.advance(seconds=30)
    status, _ = await sign_in(hub_ctx, pyotp.TOTP(secret).at(hub_ctx.clock()))
    assert status == 200
    old = pyotp.TOTP(secret).at(hub_ctx.clock() - timedelta(seconds=90))
    assert (await sign_in(hub_ctx, old))[0] == 401
    assert ("provider.sign_in", "denied") in actions(hub_ctx)


async def test_wrong_codes_count_as_wrong_passwords(hub_ctx: HubContext):
    secret = await with_totp(hub_ctx)
    right = pyotp.TOTP(secret).at(hub_ctx.clock())
    wrong = str((int(right) + 1) % 1_000_000).zfill(6)
    for _ in range(4):
        assert (await sign_in(hub_ctx, wrong))[0] == 401
    # Five attempts from this computer within the window: the right code waits too.
    assert (await sign_in(hub_ctx, wrong))[0] == 401
    assert (await sign_in(hub_ctx, right))[0] == 429


async def test_a_site_that_requires_the_app_refuses_an_account_without_one(
        sqlite_store, site, resources):  # type: ignore[no-untyped-def]
    config = dataclasses.replace(site, require_totp=True)
    async with running_hub(sqlite_store, config, resources) as ctx:
        await ctx.add_provider("house")
        status, answer = await sign_in(ctx)
        assert status == 403 and answer["error"]["code"] == "totp_not_set_up"
        assert "workstation provider totp" in str(answer["error"]["message"])


async def test_a_break_glass_code_signs_in_once_within_its_hour_and_is_audited(
        hub_ctx: HubContext, caplog: pytest.LogCaptureFixture):
    await with_totp(hub_ctx)
    store = hub_ctx.hub.service.store
    account = store.provider_account("house")
    assert account is not None
    code = second_factor.new_break_glass_code()
    store.issue_break_glass(account.provider.id, code, reason="phone lost; called back",
                            issued_by="cli:it", now=hub_ctx.clock(),
                            expires_at=hub_ctx.clock() + timedelta(hours=1))
    late = second_factor.new_break_glass_code()
    store.issue_break_glass(account.provider.id, late, reason="too late", issued_by="cli:it",
                            now=hub_ctx.clock(), expires_at=hub_ctx.clock() + timedelta(hours=1))

    status, _ = await sign_in(hub_ctx, code)
    assert status == 200
    assert (await sign_in(hub_ctx, code))[0] == 401  # once only
    hub_ctx.clock.advance(hours=1, seconds=1)
    assert (await sign_in(hub_ctx, late))[0] == 401  # its hour is over
    events = [(e.action, e.detail) for e in store.audit_events()]
    assert ("provider.break_glass_issued",
            f"provider:{account.provider.id} reason:phone lost; called back") in events
    assert ("provider.break_glass", "reason: phone lost; called back") in events
    assert "Break-glass sign-in by provider" in caplog.text


def test_it_sets_up_the_app_only_with_a_code_that_matches(
        tmp_path, memory_keyring, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """The command prints the key, asks for the app's code, and turns the factor on only when
    it matches (a mistyped key locks nobody out). In-process: the encrypted file's key is in
    this process's keyring."""
    db = tmp_path / "clinic.db"
    store = open_store(f"sqlite:///{db}")
    store.add_provider(Provider("p-1", "house", "Dr. House", ("urgent_care",)),
                       hash_password(PASSWORD), datetime.now(UTC))
    store.close()

    monkeypatch.setattr(sys, "stdin", io.StringIO("000000\n"))
    assert main(["provider", "totp", "--db", str(db), "--username", "house"]) == 1
    printed = capsys.readouterr()
    assert "nothing was changed" in printed.err
    assert totp_secret_of(db) is None

    monkeypatch.setattr(sys, "stdin", io.StringIO("000000\n"))
    main(["provider", "totp", "--db", str(db), "--username", "house"])
    key = capsys.readouterr().out.split("(time-based, 6 digits):\n")[1].split("\n")[0]
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    secret = key.replace(" ", "")
    monkeypatch.setattr(sys, "stdin", io.StringIO(pyotp.TOTP(secret).now() + "\n"))
    monkeypatch.setattr(second_factor, "new_secret", lambda: secret)  # the key just shown
    assert main(["provider", "totp", "--db", str(db), "--username", "house"]) == 0
    assert totp_secret_of(db) == secret

    assert main(["provider", "break-glass", "--db", str(db), "--username", "house",
                 "--reason", "phone lost"]) == 0
    assert "Break-glass code for Dr. House:" in capsys.readouterr().out
    store = open_store(f"sqlite:///{db}")
    try:
        done = [e.action for e in store.audit_events()]
    finally:
        store.close()
    assert "provider.totp_set" in done and "provider.break_glass_issued" in done


def totp_secret_of(db: Path) -> str | None:
    store = open_store(f"sqlite:///{db}")
    try:
        account = store.provider_account("house")
        assert account is not None
        return account.totp_secret
    finally:
        store.close()

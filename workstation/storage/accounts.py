"""Providers' accounts and their sessions (access and "remember me" tokens, kept as digests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from workstation.core.audit import AuditEvent, AuditOutcome
from workstation.core.people import Provider
from workstation.core.practice import Practice
from workstation.core.visit_link import token_digest
from workstation.storage.orm import (
    BreakGlassRow,
    PasswordAttemptRow,
    ProviderRow,
    ProviderSessionRow,
)
from workstation.storage.repository import Repository
from workstation.storage.rows import audit_row, to_provider
from workstation.storage.site_settings import write_practice


class UsernameTaken(ValueError):
    """Another provider already has this username."""


@dataclass(frozen=True)
class ProviderAccount:
    provider: Provider
    password_hash: str
    active: bool
    totp_secret: str | None = None  # set: sign-in needs a code from the provider's app


@dataclass(frozen=True)
class AttemptCount:
    """Password attempts within the window, counting the one just recorded."""

    from_address: int  # for this username from this address
    in_all: int  # for this username from anywhere
    oldest_from_address: datetime | None


class AccountStore(Repository):
    # -- guessing passwords: counted before each check, in the database ----------------------

    def record_password_attempt(self, username: str, address: str, now: datetime,
                                window: timedelta) -> tuple[int, AttemptCount]:
        """Count an attempt before its password is checked (so a burst sent at once is counted
        in full, on every hub of the clinic); attempts older than the window are dropped, so the
        table stays small. Returns the attempt's id and the counts including it."""
        key, since = username.casefold()[:120], now - window
        with self._sessions.begin() as s:
            # Every attempt older than the window goes (any username): the table holds at
            # most one window's attempts.
            s.execute(delete(PasswordAttemptRow).where(PasswordAttemptRow.at <= since))
            row = PasswordAttemptRow(username=key, address=address[:64], at=now)
            s.add(row)
            s.flush()
            mine = (PasswordAttemptRow.username == key) & (PasswordAttemptRow.at > since)
            from_address, oldest = s.execute(
                select(func.count(), func.min(PasswordAttemptRow.at))
                .where(mine, PasswordAttemptRow.address == address[:64])).one()
            in_all = s.scalar(select(func.count()).where(mine)) or 0
            return row.id, AttemptCount(int(from_address), int(in_all), oldest)

    def password_succeeded(self, username: str, address: str) -> None:
        """A right password from this address clears its attempts (not other addresses')."""
        with self._sessions.begin() as s:
            s.execute(delete(PasswordAttemptRow).where(
                PasswordAttemptRow.username == username.casefold()[:120],
                PasswordAttemptRow.address == address[:64]))

    def drop_password_attempt(self, attempt_id: int) -> None:
        """An attempt refused before its password was checked does not count twice."""
        with self._sessions.begin() as s:
            s.execute(delete(PasswordAttemptRow).where(PasswordAttemptRow.id == attempt_id))

    """Providers and their sessions; the visit store builds on it."""

    def add_provider(self, provider: Provider, password_hash: str, now: datetime, *,
                     practice: Practice | None = None) -> Provider:
        """A new account; with ``practice``, the practice's address and phone are kept in the
        same transaction (the embedded hub's first run)."""
        try:
            with self._sessions.begin() as s:
                s.add(ProviderRow(
                    id=provider.id, username=provider.username,
                    display_name=provider.display_name, password_hash=password_hash,
                    service_lines=list(provider.service_lines), npi=provider.npi, active=True,
                    created_at=now))
                s.add(audit_row(AuditEvent(now, "system", "provider.create",
                                            AuditOutcome.SUCCESS, detail=provider.id)))
                if practice is not None:
                    s.flush()  # the account first: a taken username changes nothing else
                    write_practice(s, practice, now, f"provider:{provider.id}")
                    s.add(audit_row(AuditEvent(now, f"provider:{provider.id}",
                                                "practice.update", AuditOutcome.SUCCESS,
                                                detail="first run")))
        except IntegrityError as exc:
            raise UsernameTaken(f"The username {provider.username!r} is taken.") from exc
        return provider

    def provider_count(self) -> int:
        with self._sessions() as s:
            return int(s.scalar(select(func.count()).select_from(ProviderRow)) or 0)

    def first_provider(self) -> Provider | None:
        """The site's first provider: the earliest-created account that is still active (ties
        by username). On the embedded hub it is the account made at first run, which keeps
        the practice details; None before any account exists."""
        with self._sessions() as s:
            row = s.scalars(
                select(ProviderRow).where(ProviderRow.active.is_(True))
                .order_by(ProviderRow.created_at, ProviderRow.username).limit(1)
            ).first()
            return to_provider(row) if row else None

    def provider_account(self, username: str) -> ProviderAccount | None:
        with self._sessions() as s:
            row = s.scalars(
                select(ProviderRow).where(ProviderRow.username == username)
            ).one_or_none()
            return ProviderAccount(to_provider(row), row.password_hash, row.active,
                                   row.totp_secret) if row else None

    # -- the second factor ---------------------------------------------------------------------

    def set_totp(self, provider_id: str, secret: str | None, now: datetime, actor: str) -> None:
        """Turn the second factor on with ``secret`` (or off with None); audited."""
        with self._sessions.begin() as s:
            row = s.get(ProviderRow, provider_id)
            if row is None:
                raise LookupError(provider_id)
            row.totp_secret, row.totp_last_step = secret, None
            s.add(audit_row(AuditEvent(now, actor, "provider.totp_set" if secret
                                       else "provider.totp_removed", AuditOutcome.SUCCESS,
                                       detail=f"provider:{provider_id}")))

    def accept_totp_step(self, provider_id: str, step: int) -> bool:
        """Record that a code of time step ``step`` was used; False when one of this step or
        a later one was accepted before (a code seen twice is refused the second time)."""
        with self._sessions.begin() as s:
            done = s.execute(
                update(ProviderRow)
                .where(ProviderRow.id == provider_id,
                       (ProviderRow.totp_last_step.is_(None))
                       | (ProviderRow.totp_last_step < step))
                .values(totp_last_step=step))
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def issue_break_glass(self, provider_id: str, code: str, *, reason: str, issued_by: str,
                          now: datetime, expires_at: datetime) -> None:
        with self._sessions.begin() as s:
            s.add(BreakGlassRow(code_digest=token_digest(code), provider_id=provider_id,
                                reason=reason, issued_by=issued_by, issued_at=now,
                                expires_at=expires_at, used_at=None))
            s.add(audit_row(AuditEvent(now, issued_by, "provider.break_glass_issued",
                                       AuditOutcome.SUCCESS,
                                       detail=f"provider:{provider_id} reason:{reason}")))

    def use_break_glass(self, provider_id: str, code: str, now: datetime) -> str | None:
        """Spend a break-glass code of this provider: its reason, or None when there is no
        such unused, unexpired code."""
        with self._sessions.begin() as s:
            digest = token_digest(code)
            done = s.execute(
                update(BreakGlassRow)
                .where(BreakGlassRow.code_digest == digest,
                       BreakGlassRow.provider_id == provider_id,
                       BreakGlassRow.used_at.is_(None), BreakGlassRow.expires_at > now)
                .values(used_at=now))
            if not done.rowcount:  # type: ignore[attr-defined]
                return None
            row = s.get(BreakGlassRow, digest)
            assert row is not None
            return row.reason

    def provider(self, provider_id: str) -> Provider | None:
        with self._sessions() as s:
            row = s.get(ProviderRow, provider_id)
            return to_provider(row) if row else None

    def update_password_hash(self, provider_id: str, password_hash: str) -> None:
        with self._sessions.begin() as s:
            row = s.get(ProviderRow, provider_id)
            if row is not None:
                row.password_hash = password_hash

    def create_session(self, provider_id: str, token: str, now: datetime,
                       lifetime: timedelta, *, kind: str = "access") -> datetime:
        expires = now + lifetime
        with self._sessions.begin() as s:
            s.add(ProviderSessionRow(token_digest=token_digest(token), provider_id=provider_id,
                                     created_at=now, expires_at=expires, revoked=False,
                                     kind=kind))
        return expires

    def use_refresh_token(self, token: str, now: datetime) -> Provider | None:
        """Spend a "remember me" token: valid once; the caller issues the next one."""
        with self._sessions.begin() as s:
            result = s.execute(
                update(ProviderSessionRow)
                .where(ProviderSessionRow.token_digest == token_digest(token),
                       ProviderSessionRow.kind == "refresh",
                       ProviderSessionRow.revoked.is_(False),
                       ProviderSessionRow.expires_at > now)
                .values(revoked=True))
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = s.get(ProviderSessionRow, token_digest(token))
            assert row is not None
            provider = s.get(ProviderRow, row.provider_id)
            if provider is None or not provider.active:
                return None
            return to_provider(provider)

    def session_provider(self, token: str, now: datetime) -> Provider | None:
        with self._sessions() as s:
            row = s.get(ProviderSessionRow, token_digest(token))
            if row is None or row.revoked or row.expires_at <= now or row.kind != "access":
                return None
            provider = s.get(ProviderRow, row.provider_id)
            if provider is None or not provider.active:
                return None
            return to_provider(provider)

    def revoke_session(self, token: str, provider_id: str | None = None) -> None:
        """Revoke a token (only one of ``provider_id``'s, when given)."""
        with self._sessions.begin() as s:
            row = s.get(ProviderSessionRow, token_digest(token))
            if row is not None and provider_id in (None, row.provider_id):
                row.revoked = True

"""Providers' accounts at the hub: the first account, sign-in (slowed after wrong passwords),
"remember me", unlocking, sessions and sign-out, each audited; and the practice details the
embedded hub's first provider keeps (address and phone on prescriptions, their own NPI)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from workstation.core import second_factor
from workstation.core.audit import AuditEvent, AuditOutcome
from workstation.core.demo import is_demo_username
from workstation.core.people import Provider
from workstation.core.practice import Practice
from workstation.core.site import SiteConfig
from workstation.hub import auth
from workstation.hub.errors import ApiError
from workstation.hub.schemas import FirstProviderSetupIn, PracticeSettingsIn
from workstation.storage.accounts import ProviderAccount, UsernameTaken
from workstation.storage.site_settings import SiteSettingsStore
from workstation.storage.store import VisitStore

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


MAX_FAILED_PASSWORDS = 5  # per username from one address, within the window
MAX_FAILED_ANYWHERE = 50  # per username from all addresses together
SESSION_RECHECK_SECONDS = 5.0
PASSWORD_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class IssuedSession:
    token: str = field(repr=False)
    expires_at: datetime
    provider: Provider
    refresh_token: str | None = field(default=None, repr=False)
    refresh_expires_at: datetime | None = None


class ProviderAccounts:
    """Accounts and sessions of the providers; the hub's visit service builds on it."""

    def __init__(self, store: VisitStore, config: SiteConfig, *, clock: Clock = utc_now,
                 embedded: bool = False, demo: bool = False) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.embedded = embedded
        self.demo = demo  # the demo's hub: its own account signs in, no other hub's does
        self.site_settings = SiteSettingsStore(store)
        # How often an open provider socket checks that its session still holds.
        self.session_recheck_seconds = SESSION_RECHECK_SECONDS

    # -- providers --------------------------------------------------------------------------

    async def setup_needed(self) -> bool:
        return self.embedded and await asyncio.to_thread(self.store.provider_count) == 0

    async def create_first_provider(self, body: FirstProviderSetupIn) -> Provider:
        """The embedded hub's first account, with the provider's NPI and the practice's address
        and phone, so prescriptions can be sent from the first visit on."""
        if not await self.setup_needed():
            raise ApiError(403, "forbidden",
                           "Accounts are created by your administrator "
                           "(workstation provider add).")
        unknown = [c for c in body.service_lines if self.config.service_line(c) is None]
        if unknown:
            raise ApiError(422, "invalid", "Unknown service line.",
                           fields={"service_lines": f"Unknown: {', '.join(unknown)}"})
        return await self.add_provider(body.username, body.display_name, body.password,
                                       tuple(body.service_lines), body.npi,
                                       practice=body.practice.to_practice())

    async def add_provider(self, username: str, display_name: str, password: str,
                           service_lines: tuple[str, ...], npi: str = "", *,
                           practice: Practice | None = None) -> Provider:
        if is_demo_username(username) and not self.demo:
            raise ApiError(422, "invalid", "That username is kept for the demo; choose another.",
                           fields={"username": "Kept for the demo."})
        provider = Provider(str(uuid.uuid4()), username, display_name, service_lines, npi)
        password_hash = await auth.hashing(auth.hash_password, password)
        try:
            return await asyncio.to_thread(self.store.add_provider, provider, password_hash,
                                           self.clock(), practice=practice)
        except UsernameTaken as exc:
            raise ApiError(409, "username_taken", str(exc)) from exc

    # -- the practice -----------------------------------------------------------------------

    async def practice(self) -> Practice:
        """The practice address and phone prescriptions carry: the site configuration file's,
        and on the embedded hub what its first provider saved in their place."""
        default = Practice(self.config.clinic_address, self.config.clinic_phone)
        if not self.embedded:
            return default
        saved = await asyncio.to_thread(self.site_settings.practice)
        return saved.over(default)

    async def require_practice_owner(self, provider: Provider, action: str) -> None:
        """Only the embedded hub's first provider (``AccountStore.first_provider``) changes the
        practice details; anyone else is refused (403), audited."""
        reason = None
        if not self.embedded:
            code = "clinic_hub"
            reason = ("On a clinic's hub the practice address and phone come from the site "
                      "settings (clinic_address, clinic_phone) and each provider's NPI is set "
                      "when the account is created: ask IT to change them.")
        else:
            first = await asyncio.to_thread(self.store.first_provider)
            if first is None or first.id != provider.id:
                code = "first_provider_only"
                owner = f" ({first.display_name})" if first is not None else ""
                reason = (f"Only the first account on this workstation{owner} can change the "
                          "practice details. Ask them to.")
        if reason is not None:
            await asyncio.to_thread(self.store.audit, AuditEvent(
                self.clock(), f"provider:{provider.id}", action, AuditOutcome.DENIED,
                detail=code))
            raise ApiError(403, code, reason)

    async def practice_settings(self, provider: Provider) -> tuple[Practice, str]:
        """Settings > Practice as it stands: the practice in use and the provider's NPI."""
        await self.require_practice_owner(provider, "practice.read")
        return await self.practice(), provider.npi

    async def save_practice_settings(self, provider: Provider, body: PracticeSettingsIn,
                                     ) -> tuple[Practice, str]:
        """Keep the practice's address and phone (over the site file's) and the provider's own
        NPI, audited; new prescriptions carry them at once."""
        await self.require_practice_owner(provider, "practice.update")
        now = self.clock()
        changed = ["address", "phone"] + (["npi"] if body.npi != provider.npi else [])
        await asyncio.to_thread(
            self.site_settings.save_practice, body.to_practice(), now=now,
            actor=f"provider:{provider.id}", npi_of=provider.id, npi=body.npi,
            audit=[AuditEvent(now, f"provider:{provider.id}", "practice.update",
                              AuditOutcome.SUCCESS, detail=", ".join(changed))])
        return await self.practice(), body.npi

    async def _count_attempt(self, username: str, address: str, now: datetime,
                             actor: str, action: str) -> int:
        """Count this password attempt before the password is checked; refuse it (429, audited)
        when MAX_FAILED_PASSWORDS attempts from this address, or MAX_FAILED_ANYWHERE from all,
        came within PASSWORD_WINDOW. Returns the attempt's id."""
        attempt, count = await asyncio.to_thread(
            self.store.record_password_attempt, username, address, now, PASSWORD_WINDOW)
        if count.from_address <= MAX_FAILED_PASSWORDS and count.in_all <= MAX_FAILED_ANYWHERE:
            return attempt
        await asyncio.to_thread(self.store.drop_password_attempt, attempt)
        await asyncio.to_thread(self.store.audit, AuditEvent(
            now, actor, action, AuditOutcome.DENIED, detail="too many wrong passwords"))
        oldest = count.oldest_from_address or now
        wait = max(1, int((oldest + PASSWORD_WINDOW - now).total_seconds() // 60) + 1)
        raise ApiError(429, "too_many_attempts",
                       f"Too many wrong passwords. Try again in {wait} minutes, or ask "
                       "your administrator.")

    async def sign_in(self, username: str, password: str, *, remember: bool = False,
                      address: str = "", code: str | None = None) -> IssuedSession:
        now = self.clock()
        provider = await self.check_credentials(username, password, address=address,
                                                detail="remember" if remember else "",
                                                second_factor=True, code=code)
        return await self._issue(provider, now, remember=remember)

    async def check_credentials(self, username: str, password: str, *, address: str = "",
                                action: str = "provider.sign_in", detail: str = "",
                                second_factor: bool = False,
                                code: str | None = None) -> Provider:
        """The provider with this username and password, and with ``second_factor`` their
        code when their account or the site asks for one (audited; refused after too many
        wrong passwords or codes for this username from ``address``, the client's)."""
        now = self.clock()
        await self._count_attempt(username, address, now, "anonymous", action)
        if is_demo_username(username) and not self.demo:
            await asyncio.to_thread(self.store.audit, AuditEvent(
                now, "anonymous", action, AuditOutcome.DENIED,
                detail="the demo account on a hub that is not the demo's"))
            raise ApiError(403, "demo_only", "The demo account works only in the demo "
                                             "(workstation --demo), never on a clinic's hub.")
        account = await asyncio.to_thread(self.store.provider_account, username)
        ok = await auth.hashing(auth.verify_password,
                                account.password_hash if account else None, password)
        if account is None or not ok or not account.active:
            await asyncio.to_thread(self.store.audit, AuditEvent(
                now, "anonymous", action, AuditOutcome.DENIED,
                detail="bad username or password"))
            raise ApiError(401, "bad_credentials", "The username or password is not right.")
        if second_factor:
            await self._second_factor(account, (code or "").replace(" ", ""), now, action)
        await asyncio.to_thread(self.store.password_succeeded, username, address)
        if auth.needs_rehash(account.password_hash):
            new_hash = await auth.hashing(auth.hash_password, password)
            await asyncio.to_thread(self.store.update_password_hash, account.provider.id,
                                    new_hash)
        await asyncio.to_thread(self.store.audit, AuditEvent(
            now, f"provider:{account.provider.id}", action, AuditOutcome.SUCCESS,
            detail=detail))
        return account.provider

    async def _second_factor(self, account: ProviderAccount, code: str, now: datetime,
                             action: str) -> None:
        """The code from the provider's authenticator app (each accepted once), or a
        break-glass code IT issued (once, within its hour, loudly audited); ApiError
        otherwise. A wrong code counts as a wrong password does."""
        provider = account.provider
        if account.totp_secret is None and not self.config.require_totp:
            return
        if not code:
            if account.totp_secret is None:
                raise ApiError(403, "totp_not_set_up",
                               "This clinic asks for a code from an authenticator app at "
                               "sign-in, and your account has none yet. Ask IT to set it up "
                               "(workstation provider totp).")
            raise ApiError(401, "code_required",
                           "Enter the 6-digit code from your authenticator app.")
        if account.totp_secret is not None and code.isascii() and code.isdigit() \
                and len(code) == 6:
            step = second_factor.matching_step(account.totp_secret, code, now)
            if step is not None and await asyncio.to_thread(
                    self.store.accept_totp_step, provider.id, step):
                return
        else:
            reason = await asyncio.to_thread(self.store.use_break_glass, provider.id, code,
                                             now)
            if reason is not None:
                log.warning("Break-glass sign-in by provider %s: see the audit log",
                            provider.id)
                await asyncio.to_thread(self.store.audit, AuditEvent(
                    now, f"provider:{provider.id}", "provider.break_glass",
                    AuditOutcome.SUCCESS, detail=f"reason: {reason}"))
                return
        await asyncio.to_thread(self.store.audit, AuditEvent(
            now, f"provider:{provider.id}", action, AuditOutcome.DENIED,
            detail="wrong second-factor code"))
        raise ApiError(401, "bad_code", "That code is not right (or was used already). "
                       "Enter the code your app shows now.")

    async def refresh(self, refresh_token: str) -> IssuedSession:
        """"Remember me": a refresh token is spent once for a new session and a new one."""
        now = self.clock()
        provider = await asyncio.to_thread(self.store.use_refresh_token, refresh_token, now)
        if provider is None:
            await asyncio.to_thread(self.store.audit, AuditEvent(
                now, "anonymous", "provider.refresh", AuditOutcome.DENIED))
            raise ApiError(401, "unauthorized", "Your session has ended. Sign in again.")
        await asyncio.to_thread(self.store.audit, AuditEvent(
            now, f"provider:{provider.id}", "provider.refresh", AuditOutcome.SUCCESS))
        return await self._issue(provider, now, remember=True)

    async def _issue(self, provider: Provider, now: datetime, *,
                     remember: bool) -> IssuedSession:
        token = auth.new_session_token()
        expires = await asyncio.to_thread(self.store.create_session, provider.id, token, now,
                                          timedelta(hours=self.config.session_hours))
        refresh = refresh_expires = None
        if remember:
            refresh = auth.new_session_token()
            refresh_expires = await asyncio.to_thread(
                self.store.create_session, provider.id, refresh, now,
                timedelta(days=self.config.remember_days), kind="refresh")
        return IssuedSession(token, expires, provider, refresh, refresh_expires)

    async def verify_password(self, provider: Provider, password: str, *,
                              address: str = "") -> None:
        """Unlocking a locked workstation: the signed-in provider's own password, audited and
        counted as sign-in attempts are."""
        now = self.clock()
        await self._count_attempt(provider.username, address, now, f"provider:{provider.id}",
                                  "provider.unlock")
        account = await asyncio.to_thread(self.store.provider_account, provider.username)
        ok = account is not None and await auth.hashing(
            auth.verify_password, account.password_hash, password)
        await asyncio.to_thread(self.store.audit, AuditEvent(
            now, f"provider:{provider.id}", "provider.unlock",
            AuditOutcome.SUCCESS if ok else AuditOutcome.DENIED))
        if not ok:
            raise ApiError(401, "bad_credentials", "That password is not right.")
        await asyncio.to_thread(self.store.password_succeeded, provider.username, address)

    async def authenticate(self, token: str | None) -> Provider:
        provider = None
        if token:
            provider = await asyncio.to_thread(self.store.session_provider, token, self.clock())
        if provider is None:
            raise ApiError(401, "unauthorized", "Your session has ended. Sign in again.")
        return provider

    async def sign_out(self, token: str, provider: Provider, *,
                       refresh_token: str | None = None) -> None:
        """End this session, and "remember me" on this workstation when its token is given."""
        await asyncio.to_thread(self.store.revoke_session, token)
        if refresh_token:
            await asyncio.to_thread(self.store.revoke_session, refresh_token, provider.id)
        await asyncio.to_thread(self.store.audit, AuditEvent(
            self.clock(), f"provider:{provider.id}", "provider.sign_out", AuditOutcome.SUCCESS))

"""`workstation provider totp` and `workstation provider break-glass`: the second factor.

``totp`` gives a provider's authenticator app its key and turns the second factor on once a
code from the app has been typed back (so nobody is locked out by a mistyped key); ``--off``
turns it off. ``break-glass`` issues a one-time code, valid for an hour, that signs the
provider in without the app (a lost phone): issuing and using it are audited with the reason.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

from workstation.core import second_factor
from workstation.core.site import SiteConfig
from workstation.db_arguments import add_database_arguments

BREAK_GLASS_LIFETIME = timedelta(hours=1)


def add_parsers(provider_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    totp = provider_sub.add_parser(
        "totp", help="set up (or --off) a provider's authenticator app",
        description="Print the key for the provider's authenticator app, then ask for the "
                    "code the app shows: the second factor is on once that code is right.")
    add_database_arguments(totp)
    totp.add_argument("--username", required=True)
    totp.add_argument("--off", action="store_true", help="turn the second factor off")
    glass = provider_sub.add_parser(
        "break-glass", help="a one-time code to sign in without the authenticator app",
        description="Issue a code the provider types instead of the app's, once, within an "
                    "hour. Issuing and using it are audited with the reason.")
    add_database_arguments(glass)
    glass.add_argument("--username", required=True)
    glass.add_argument("--reason", required=True,
                       help="why (e.g. \"phone lost; identity checked by call-back\")")


def run(args: argparse.Namespace, config: SiteConfig, *, actor: str) -> int:
    from workstation.storage.database import open_store

    store = open_store(args.db, upgrade_schema=False)
    try:
        account = store.provider_account(args.username)
        if account is None:
            print(f"workstation: no provider {args.username!r}.", file=sys.stderr)
            return 1
        provider = account.provider
        now = datetime.now(UTC)
        if args.provider_command == "break-glass":
            if not args.reason.strip():
                print("workstation: give the reason.", file=sys.stderr)
                return 2
            code = second_factor.new_break_glass_code()
            store.issue_break_glass(provider.id, code, reason=args.reason.strip()[:500],
                                    issued_by=actor, now=now,
                                    expires_at=now + BREAK_GLASS_LIFETIME)
            until = (now + BREAK_GLASS_LIFETIME).astimezone(config.zone)
            print(f"Break-glass code for {provider.display_name}: {code}\n"
                  f"It signs in once, instead of the app's code, until {until:%H:%M} "
                  f"({config.time_zone}). Issuing it and using it are on the audit log.")
            return 0
        if args.off:
            store.set_totp(provider.id, None, now, actor)
            print(f"The second factor of {provider.display_name} is off.")
            return 0
        secret = second_factor.new_secret()
        uri = second_factor.provisioning_uri(secret, provider.username, config.site_name)
        spaced = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
        print(f"In {provider.display_name}'s authenticator app, add an account with this key "
              f"(time-based, 6 digits):\n    {spaced}\nor this address (as a QR code):\n"
              f"    {uri}")
        print("Type the 6-digit code the app shows now: ", end="", flush=True)
        code = sys.stdin.readline().strip().replace(" ", "")
        if second_factor.matching_step(secret, code, datetime.now(UTC)) is None:
            print("workstation: that code does not match the key; nothing was changed. "
                  "Check the key in the app and run this again.", file=sys.stderr)
            return 1
        store.set_totp(provider.id, secret, now, actor)
        print(f"The second factor of {provider.display_name} is on: sign-in now asks for "
              "the app's code.")
        return 0
    finally:
        store.close()

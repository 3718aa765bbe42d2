"""The SQLite encryption key lives in the OS keyring, never in a file."""

from __future__ import annotations

import contextlib
import secrets

import keyring
import keyring.backend
import keyring.errors
from keyring.compat import properties

SERVICE = "workstation-database"


class DatabaseKeyUnavailable(RuntimeError):
    """No usable keyring: the encrypted database cannot be opened or created."""


NO_KEYRING_HELP = (
    "No system keyring was found, so the database encryption key cannot be kept safely. "
    "Install and unlock one (on Linux: gnome-keyring or KeePassXC with Secret Service; "
    "Windows and macOS have one built in), or set PYTHON_KEYRING_BACKEND to a backend "
    "your IT department approves. The key is never written to a plain file."
)


def database_key(database_path: str, *, create: bool = True) -> str:
    """Return the hex key for the database at ``database_path``, creating it at first run."""
    try:
        key = keyring.get_password(SERVICE, database_path)
        if key is None and create:
            key = secrets.token_hex(32)
            keyring.set_password(SERVICE, database_path, key)
            # A keyring that accepts the write and keeps nothing would leave a database no one
            # can open again: read the key back before anything is written with it.
            if keyring.get_password(SERVICE, database_path) != key:
                raise DatabaseKeyUnavailable(
                    "The system keyring accepted the database key but did not keep it, so a "
                    "database made with it could never be opened again. Nothing was created. "
                    + NO_KEYRING_HELP)
    except keyring.errors.KeyringError as exc:
        raise DatabaseKeyUnavailable(NO_KEYRING_HELP) from exc
    if key is None:
        raise DatabaseKeyUnavailable(
            f"No key for the database {database_path} in the system keyring. It was created "
            "on another account or machine, or the keyring entry was removed."
        )
    return key


class ProcessKeyring(keyring.backend.KeyringBackend):
    """A keyring that lives and dies with this process.

    Only for databases that live and die with the process too (benchmarks, throwaway
    training runs): the data becomes unreadable when the process ends, by design.
    """

    @properties.classproperty
    def priority(cls) -> float:
        # Not viable for keyring's automatic choice: on a machine without a system keyring,
        # merely importing this class would otherwise make it the default, and the database
        # key would vanish when the app closes. It is only ever set explicitly.
        raise RuntimeError("ProcessKeyring is set explicitly, never chosen automatically")

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._secrets.pop((service, username), None)


def forget_database_key(database_path: str) -> None:
    """Delete the key of a database that is gone (none kept, or no keyring: nothing to do)."""
    with contextlib.suppress(keyring.errors.KeyringError):
        keyring.delete_password(SERVICE, database_path)

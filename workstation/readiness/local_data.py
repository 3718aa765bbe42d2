"""The keyring (where the database key lives) and the encrypted local database.

Both are checked with throwaway entries: a keyring entry of the check's own, and a scratch
database next to where the visit database lives. The user's visit database and its key are
never opened.
"""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path

from workstation.readiness.runner import Finding

CHECK_SERVICE = "workstation-readiness-check"
KEYRING_FIX = ("Install and unlock a system keyring (on Linux: gnome-keyring, or KeePassXC with "
               "Secret Service; Windows and macOS have one built in), or set "
               "PYTHON_KEYRING_BACKEND to a backend your IT department approves.")
SQLITE_HEADER = b"SQLite format 3\x00"


def check_keyring() -> Finding:
    """Write a secret, read it back, delete it."""
    import keyring
    import keyring.errors

    backend = keyring.get_keyring()
    kind = f"{type(backend).__module__}.{type(backend).__qualname__}"
    entry, secret = f"check-{secrets.token_hex(4)}", secrets.token_hex(16)
    try:
        keyring.set_password(CHECK_SERVICE, entry, secret)
        read_back = keyring.get_password(CHECK_SERVICE, entry)
        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            keyring.delete_password(CHECK_SERVICE, entry)
        left = keyring.get_password(CHECK_SERVICE, entry)
    except keyring.errors.NoKeyringError:
        return Finding("fail", f"No usable keyring ({kind}): the database key cannot be kept "
                               "safely, so the workstation cannot open its database.",
                       KEYRING_FIX)
    except keyring.errors.KeyringError as exc:
        return Finding("fail", f"The keyring ({kind}) refused: {exc}",
                       "Unlock the keyring (sign in to the desktop session as the provider "
                       "will), then run the check again.")
    if read_back != secret:
        return Finding("fail", f"The keyring ({kind}) accepted a secret but did not give it "
                               "back: a database key kept there would be lost.", KEYRING_FIX)
    if left is not None:
        return Finding("warn", f"The keyring ({kind}) keeps secrets but did not delete the "
                               f"check's entry ({CHECK_SERVICE}).",
                       f"Remove the entry {CHECK_SERVICE!r} in the keyring's own tool.")
    if "plaintext" in kind.lower():
        return Finding("warn", f"The keyring ({kind}) keeps secrets in a plain file: anyone "
                               "who copies it can read the database.", KEYRING_FIX)
    return Finding("pass", f"The keyring ({kind}) wrote, read back and deleted a secret.")


def check_database(data_dir: Path) -> Finding:
    """Create a scratch encrypted database in ``data_dir`` (where the visit database lives),
    write a row, read it back, see that the file on disk is not readable SQLite, and remove
    it, its key and any folder made for it."""
    from sqlalchemy import text

    from workstation.storage.database import DatabaseUnreadable, forget_sqlite_key, make_engine
    from workstation.storage.keystore import DatabaseKeyUnavailable

    made = _missing_folders(data_dir)
    token = secrets.token_hex(6)
    scratch = data_dir / f".readiness-check-{token}.db"
    marker = f"readiness-check-{token}"
    try:
        try:
            engine = make_engine(f"sqlite:///{scratch}")
        except DatabaseKeyUnavailable as exc:
            first = str(exc).split(". ")[0].rstrip(".")
            return Finding("fail", f"No key could be kept for the database: {first}.",
                           "Fix the keyring first (see the Keyring check).")
        except DatabaseUnreadable as exc:  # a leftover file by that name: cannot happen twice
            return Finding("fail", str(exc), "Run the check again.")
        except OSError as exc:
            return _not_writable(data_dir, exc)
        try:
            with engine.begin() as conn:
                conn.execute(text("CREATE TABLE readiness (note TEXT)"))
                conn.execute(text("INSERT INTO readiness VALUES (:note)"), {"note": marker})
            with engine.connect() as conn:
                read_back = conn.execute(text("SELECT note FROM readiness")).scalar()
        except OSError as exc:
            return _not_writable(data_dir, exc)
        finally:
            engine.dispose()  # the last connection's close moves the WAL into the file
        if read_back != marker:
            return Finding("fail", f"The database in {data_dir} gave back something other "
                                   "than what was written.", "Report this to support.")
        on_disk = b"".join(p.read_bytes() for p in _files_of(scratch))
        if on_disk.startswith(SQLITE_HEADER) or marker.encode() in on_disk:
            return Finding("fail", f"The database in {data_dir} was written unencrypted.",
                           "Reinstall the workstation: its encrypted SQLite driver "
                           "(SQLCipher) is missing.")
        return Finding("pass", f"Wrote, read back and removed an encrypted test database in "
                               f"{data_dir}; its key was kept in the keyring.")
    finally:
        for path in _files_of(scratch):
            path.unlink(missing_ok=True)
        with contextlib.suppress(Exception):  # a keyring that fails otherwise: nothing left
            forget_sqlite_key(scratch)
        for folder in reversed(made):  # only the folders made here, and only if empty
            with contextlib.suppress(OSError):
                folder.rmdir()


def _not_writable(data_dir: Path, exc: OSError) -> Finding:
    return Finding("fail", f"The data folder {data_dir} cannot be written: "
                           f"{exc.strerror or exc}.",
                   f"Give the provider's account write access to {data_dir}, or start the "
                   "workstation with --data-dir pointing at a folder it can write.")


def _files_of(database: Path) -> list[Path]:
    return [p for p in (database, *(Path(f"{database}{s}") for s in ("-wal", "-shm",
                                                                       "-journal")))
            if p.exists()]


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and its parents that do not exist yet, outermost first."""
    missing = []
    folder = folder.absolute()
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing[::-1]

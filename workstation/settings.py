"""Reading the site configuration and locating the user's data folder.

Settings come in layers: the defaults, then the user's own settings file, then the site file
that IT puts in the system location (or ``--site``). A key the site file sets wins and is
locked: the user's file cannot change it, and the app shows it as set by the site.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from workstation.core.site import SiteConfig, SiteConfigError

APP_NAME = "workstation"
# Where the site file is looked for instead of the system location (tests, unusual installs).
SYSTEM_SITE_ENV = "WORKSTATION_SYSTEM_SITE"
DEFAULT = "default"


def system_site_path() -> Path:
    """The site file IT installs: /etc/workstation/site.toml, %ProgramData%\\Workstation\\
    site.toml, or /Library/Application Support/Workstation/site.toml."""
    override = os.environ.get(SYSTEM_SITE_ENV)
    if override:
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "Workstation" / "site.toml"
    if sys.platform == "darwin":
        return Path("/Library/Application Support/Workstation/site.toml")
    return Path("/etc/workstation/site.toml")


def user_settings_path() -> Path:
    """The user's own settings (same keys as the site file; the site's win)."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "settings.toml"


@dataclass(frozen=True)
class Settings:
    config: SiteConfig
    origins: Mapping[str, str]  # setting name → the file it came from, or "default"
    locked: frozenset[str]  # the settings the site file sets: not the user's to change

    @classmethod
    def of(cls, config: SiteConfig) -> Settings:
        """A configuration given whole (tests, a caller without files): nothing locked."""
        return cls(config, {f.name: DEFAULT for f in dataclasses.fields(SiteConfig)
                            if f.name != "schema_version"}, frozenset())


def load_settings(site: Path | None = None, user: Path | None = None) -> Settings:
    """The effective settings. ``site``: a site file given on the command line (it must
    exist); else the system location's, if there is one. Each file is checked on its own
    first, so an error names the file it is in."""
    site_path = site or system_site_path()
    site_data = _read(site_path, required=site is not None)
    user_path = user or user_settings_path()
    user_data = _read(user_path, required=False)
    for path, data in ((site_path, site_data), (user_path, user_data)):
        if data:
            _checked(path, data)
    merged = {**user_data, **site_data}
    config = _checked(site_path if site_data else user_path, merged)
    origins = {f.name: str(site_path) if f.name in site_data else
               str(user_path) if f.name in user_data else DEFAULT
               for f in dataclasses.fields(SiteConfig) if f.name != "schema_version"}
    return Settings(config, origins, frozenset(site_data) - {"schema_version"})


def _read(path: Path, *, required: bool) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError as exc:
        if required:
            raise SiteConfigError(f"The site configuration {path} does not exist.") from exc
        return {}
    except PermissionError as exc:
        raise SiteConfigError(f"{path} cannot be read: permission denied.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SiteConfigError(f"The site configuration {path} is not valid TOML: {exc}") from exc


def _checked(path: Path, data: Mapping[str, Any]) -> SiteConfig:
    try:
        return SiteConfig.from_mapping(data)
    except (TypeError, ValueError) as exc:
        raise SiteConfigError(f"{path}: {exc}") from exc


@dataclass(frozen=True)
class ShownSetting:
    """One line of ``config show`` and of the app's settings view."""

    name: str
    value: str  # as the site file would write it; secrets masked
    origin: str  # the file it came from, or "default"
    locked: bool  # set by the site: not the user's to change


def shown_settings(settings: Settings) -> list[ShownSetting]:
    shown = []
    for name, origin in settings.origins.items():
        raw = getattr(settings.config, name)
        if name == "ice_servers":
            raw = tuple({**server, "credential": "(set; not shown)"} if "credential" in server
                        else server for server in raw)
        value = '"(set; not shown)"' if name in SECRETS and raw else _toml(raw)
        shown.append(ShownSetting(name, value, origin, name in settings.locked))
    return shown


def describe(settings: Settings) -> list[str]:
    """``workstation config show``: every setting, its value and where it came from."""
    return [f"{s.name} = {s.value}    # {s.origin}{' (locked by the site)' if s.locked else ''}"
            for s in shown_settings(settings)]


SECRETS = frozenset({"erx_inbound_token"})  # never printed, nor the TURN credentials
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _toml(value: Any) -> str:
    """A setting's value as it would be written in the site file."""
    from decimal import Decimal

    from workstation.core.people import Address, ServiceLine
    from workstation.core.site import OpeningHours

    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str | Decimal):
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, OpeningHours):
        days = [f'{WEEKDAYS[d]} = ["{a:%H:%M}", "{b:%H:%M}"]'
                for d, (a, b) in sorted(value.by_weekday.items())]
        return "{ " + ", ".join(days) + " }"
    if isinstance(value, ServiceLine):
        return f'{{ code = {_toml(value.code)}, name = {_toml(value.name)} }}'
    if isinstance(value, Address):
        return "{ " + ", ".join(f"{k} = {_toml(getattr(value, k))}" for k in (
            "line1", "line2", "city", "state", "postal_code")) + " }"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return _toml(str(value))


def write_site(path: Path, updates: Mapping[str, Any]) -> SiteConfig:
    """Set ``updates`` in the site file at ``path`` (made if missing), keeping its other keys
    and its comments. The result is checked first: nothing is written when it is invalid,
    and the file is replaced in one step, so a reader never sees half of it."""
    import tomlkit

    try:
        document = tomlkit.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        document = tomlkit.document()
    except tomlkit.exceptions.ParseError as exc:
        raise SiteConfigError(f"{path} is not valid TOML: {exc}") from exc
    for key, value in updates.items():
        document[key] = value
    config = _checked(path, document.unwrap())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".site-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(tomlkit.dumps(document))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, 0o644)  # every user's workstation reads it; only IT writes it
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return config


def installer_updates(*, hub_url: str = "", ice_servers: str = "", turn_username: str = "",
                      turn_credential: str = "", lock_minutes: str = "",
                      site_name: str = "") -> dict[str, Any]:
    """The site keys an installer's properties give (HUBURL=… and the like): empty ones are
    left out, so an install without them keeps what the file says."""
    updates: dict[str, Any] = {}
    if hub_url.strip():
        updates["hub_url"] = hub_url.strip()
    if site_name.strip():
        updates["site_name"] = site_name.strip()
    if lock_minutes.strip():
        try:
            updates["lock_minutes"] = int(lock_minutes)
        except ValueError as exc:
            raise SiteConfigError(
                f"lock_minutes must be a whole number of minutes, not {lock_minutes!r}.") from exc
    urls = ice_servers.replace(",", " ").split()
    if urls:
        stun = [u for u in urls if not u.startswith(("turn:", "turns:"))]
        turn = [u for u in urls if u.startswith(("turn:", "turns:"))]
        servers: list[dict[str, Any]] = []
        if stun:
            servers.append({"urls": stun})
        if turn:
            relay: dict[str, Any] = {"urls": turn}
            if turn_username:
                relay["username"] = turn_username
            if turn_credential:
                relay["credential"] = turn_credential
            servers.append(relay)
        updates["ice_servers"] = servers
    elif turn_username or turn_credential:
        raise SiteConfigError("A TURN username or credential needs the TURN server's address "
                              "too (ICESERVERS / --ice-servers).")
    return updates


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def load_site_config(path: Path | None) -> SiteConfig:
    """One site file (TOML) if given, else the defaults. Errors name the file and the problem."""
    if path is None:
        return SiteConfig()
    return _checked(path, _read(path, required=True))

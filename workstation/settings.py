"""Reading the site configuration file and locating the user's data folder."""

from __future__ import annotations

import tomllib
from pathlib import Path

import platformdirs

from workstation.core.site import SiteConfig, SiteConfigError

APP_NAME = "workstation"


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def load_site_config(path: Path | None) -> SiteConfig:
    """The site file (TOML) if given, else the defaults. Errors name the file and the problem."""
    if path is None:
        return SiteConfig()
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError as exc:
        raise SiteConfigError(f"The site configuration {path} does not exist.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SiteConfigError(f"The site configuration {path} is not valid TOML: {exc}") from exc
    try:
        return SiteConfig.from_mapping(data)
    except (TypeError, ValueError) as exc:
        raise SiteConfigError(f"{path}: {exc}") from exc

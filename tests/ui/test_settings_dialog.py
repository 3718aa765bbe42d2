"""Settings > Workstation settings: what is in effect and where it came from; what the site
file sets is shown locked, before sign-in too (IT checks a PC without an account)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from workstation.app import _wire_settings
from workstation.settings import load_settings
from workstation.ui.session.settings_dialog import SettingsDialog
from workstation.ui.shell.main_window import MainWindow


def test_the_sites_settings_are_shown_locked_and_the_users_as_theirs(
        qtbot: QtBot, tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text('hub_url = "https://hub.clinic.example:8443"\nlock_minutes = 5\n'
                    '[[ice_servers]]\nurls = ["turns:turn.clinic.example:5349"]\n'
                    'username = "clinic"\ncredential = "s3cret"\n', encoding="utf-8")
    user = tmp_path / "settings.toml"
    user.write_text("lock_minutes = 30\nalert_during_calls = true\n", encoding="utf-8")
    window = MainWindow()
    qtbot.addWidget(window)
    _wire_settings(window, load_settings(site, user))
    window.show()

    assert window.settings_action.isEnabled()  # signed out: IT can look
    window.settings_action.trigger()
    dialog = window.settings_dialog
    assert isinstance(dialog, SettingsDialog)
    qtbot.waitUntil(dialog.isVisible)

    assert dialog.row_of("hub_url") == (
        "hub_url", '"https://hub.clinic.example:8443"', "Site — locked")
    assert dialog.row_of("lock_minutes") == ("lock_minutes", "5", "Site — locked")
    assert dialog.row_of("alert_during_calls") == ("alert_during_calls", "true",
                                                   "Your settings")
    assert dialog.row_of("fee") == ("fee", '"49.00"', "Default")
    ice = dialog.row_of("ice_servers")[1]
    assert "turns:turn.clinic.example:5349" in ice and "s3cret" not in ice
    row = next(r for r in range(dialog.table.rowCount())
               if dialog.table.item(r, 0).text() == "lock_minutes")  # type: ignore[union-attr]
    assert str(site) in dialog.table.item(row, 2).toolTip()  # type: ignore[union-attr]

    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # the keyboard closes it
    qtbot.waitUntil(lambda: not dialog.isVisible())

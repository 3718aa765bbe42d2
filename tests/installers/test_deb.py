"""The Debian package (`make deb`) as IT uses it: installed on this machine with dpkg; the
installed workstation reads and writes the site file in /etc, checks the PC
(`/usr/bin/workstation check --json`, offscreen, in a D-Bus session with GNOME Keyring as on a
desktop), starts on its embedded hub with its encrypted database, and plays a demo scenario
headless from /opt/workstation; then the package is removed again: `dpkg -r` leaves only the
site file (a conffile) and users' data, `dpkg -P` the users' data alone.

Runs in the installers run only (`make installers`, which CI runs, sets WORKSTATION_TEST_DEB to
the built package; `make test` skips it, as building the package takes minutes), as root: not
root is a failure. It installs and removes the package named `workstation` on this machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

DEB_ENV = "WORKSTATION_TEST_DEB"
_deb = os.environ.get(DEB_ENV, "")
if not _deb:
    pytest.skip(f"installers run only: {DEB_ENV} names no package (make installers sets it)",
                allow_module_level=True)

DEB = Path(_deb)
SITE = Path("/etc/workstation/site.toml")
PACKAGED = ("/opt/workstation/workstation", "/usr/bin/workstation",
            "/usr/share/applications/workstation.desktop",
            "/usr/share/icons/hicolor/256x256/apps/workstation.png",
            "/usr/share/doc/workstation/IT.md", str(SITE))


def dpkg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["dpkg", *args], capture_output=True, text=True, timeout=600,
                          check=False)


def status() -> str:
    result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "workstation"],
                            capture_output=True, text=True, check=False)
    return result.stdout if result.returncode == 0 else "not known to dpkg"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The package installed; a clean machine again afterwards, whatever happened."""
    # Asked for (WORKSTATION_TEST_DEB) but not root: a failure, never a quiet skip.
    assert os.geteuid() == 0, "installing the package needs root: sudo make installers"
    assert status() in ("not known to dpkg", "unknown ok not-installed"), (
        "a workstation package is already on this machine; the test will not touch it")
    home = tmp_path_factory.mktemp("home")
    result = dpkg("-i", str(DEB))
    assert result.returncode == 0, result.stderr
    try:
        yield home
    finally:
        dpkg("-P", "workstation")


def user_env(home: Path) -> dict[str, str]:
    """A user's session on the clinic PC: their own home, no test isolation of the site file
    (the installed program reads /etc/workstation/site.toml as it will for IT)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("WORKSTATION_SYSTEM_SITE", "XDG_CONFIG_HOME", "PYTHONPATH",
                        "VIRTUAL_ENV")}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen",
               PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    return env


def run(home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["/usr/bin/workstation", *args], capture_output=True, text=True,
                          env=user_env(home), cwd=home, timeout=timeout, check=False)


# A desktop session's keyring, as on a clinic PC: a D-Bus session with GNOME Keyring's
# Secret Service, unlocked by the user's login password.
IN_SESSION = ('echo "$KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets '
              '>/dev/null && exec /usr/bin/workstation "$@"')


def run_in_session(home: Path, *args: str, timeout: float = 300,
                   ) -> subprocess.CompletedProcess[str]:
    assert shutil.which("gnome-keyring-daemon") and shutil.which("dbus-run-session"), (
        "make installers installs gnome-keyring and dbus (installers-packages.txt)")
    return subprocess.run(["dbus-run-session", "--", "sh", "-c", IN_SESSION, "sh", *args],
                          capture_output=True, text=True, cwd=home, timeout=timeout,
                          env={**user_env(home), "KEYRING_PASSWORD": "clinic-login"},
                          check=False)


def test_the_package_puts_the_program_its_menu_entry_and_the_site_file_in_place(
        installed: Path) -> None:
    assert status() == "install ok installed"
    for path in PACKAGED:
        assert Path(path).exists(), path
    assert os.readlink("/usr/bin/workstation") == "/opt/workstation/workstation"
    conffiles = subprocess.run(["dpkg-query", "-W", "-f=${Conffiles}", "workstation"],
                               capture_output=True, text=True, check=True).stdout
    assert str(SITE) in conffiles
    depends = subprocess.run(["dpkg-query", "-W", "-f=${Depends}", "workstation"],
                             capture_output=True, text=True, check=True).stdout
    assert "libportaudio2" in depends and "libxcb-cursor0" in depends
    if shutil.which("desktop-file-validate"):
        checked = subprocess.run(["desktop-file-validate",
                                  "/usr/share/applications/workstation.desktop"],
                                 capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_installed_workstation_reads_the_site_file_it_edits(installed: Path) -> None:
    shown = run(installed, "config", "show")
    assert shown.returncode == 0, shown.stderr
    assert 'hub_url = ""    # default' in shown.stdout  # the packaged file sets nothing

    written = run(installed, "config", "write-site", "--lock-minutes", "5",
                  "--site-name", "Riverside Clinic")
    assert written.returncode == 0, written.stderr
    shown = run(installed, "config", "show")
    assert f"lock_minutes = 5    # {SITE} (locked by the site)" in shown.stdout
    assert "# Site settings for this PC's workstation" in SITE.read_text(encoding="utf-8")


def test_the_installed_workstation_checks_the_pc(installed: Path) -> None:
    result = run_in_session(installed, "check", "--json", timeout=180)
    report = json.loads(result.stdout)
    for check in report["checks"]:
        assert check["status"] in ("pass", "warn", "fail")
        assert check["status"] == "pass" or check["fix"], check
    failed_required = [c for c in report["checks"] if c["required"] and c["status"] == "fail"]
    assert report["ok"] is (not failed_required)
    assert result.returncode == (1 if failed_required else 0), result.stderr
    by_id = {c["id"]: c for c in report["checks"]}
    assert set(by_id) == {"screen", "camera", "microphone", "speaker", "hub", "ice", "keyring",
                          "database", "video_encoding"}
    # What the bundle carries works from /opt: the Secret Service keyring, the encrypted
    # database (its key kept there), the VP8 encoder.
    assert by_id["keyring"]["status"] == "pass", by_id["keyring"]
    assert by_id["database"]["status"] == "pass", by_id["database"]
    assert by_id["video_encoding"]["status"] in ("pass", "warn"), by_id["video_encoding"]
    assert by_id["hub"]["status"] == "pass"  # the embedded hub: nothing to reach
    assert by_id["screen"]["status"] == "warn"  # offscreen: no real screen, and it says so
    # This machine has no camera or sound card: those fail, each with its fix.
    assert {by_id[d]["status"] for d in ("camera", "microphone", "speaker")} == {"fail"}
    assert report["ok"] is False and result.returncode == 1


def test_the_installed_workstation_starts_on_its_embedded_hub(installed: Path) -> None:
    """The menu entry's command at a provider's first start: the embedded hub comes up with
    its encrypted database (the key in the session's keyring) and serves the patients'
    check-in page; the window waits for the first account."""
    import re
    import urllib.request

    assert "Exec=workstation\n" in Path(
        "/usr/share/applications/workstation.desktop").read_text(encoding="utf-8")
    with subprocess.Popen(
            ["dbus-run-session", "--", "sh", "-c", IN_SESSION, "sh"], cwd=installed,
            env={**user_env(installed), "KEYRING_PASSWORD": "clinic-login"},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as process:
        try:
            assert process.stderr is not None
            url = None
            for line in process.stderr:
                found = re.search(r"Embedded hub at (http://127\.0\.0\.1:\d+)", line)
                if found:
                    url = found.group(1)
                    break
            assert url, "the installed workstation never started its embedded hub"
            with urllib.request.urlopen(f"{url}/checkin", timeout=30) as page:
                assert page.status == 200 and b"<form" in page.read()
            database = installed / ".local" / "share" / "workstation" / "workstation.db"
            assert database.is_file()
            assert not database.read_bytes().startswith(b"SQLite format 3\x00")  # encrypted
            assert database.stat().st_mode & 0o777 == 0o600
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_the_installed_workstation_plays_a_demo_scenario(installed: Path) -> None:
    result = run(installed, "demo", "run", "--headless", "--speed", "10", "clinic-morning",
                 timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "12 of 12 expected outcomes happened." in result.stdout


def test_removing_leaves_the_site_file_then_purging_leaves_only_user_data(
        installed: Path) -> None:
    owned = dpkg("-L", "workstation").stdout.split()
    # The user's encrypted database, made by the workstation's start above.
    database = installed / ".local" / "share" / "workstation" / "workstation.db"
    kept = database.read_bytes()

    removed = dpkg("-r", "workstation")
    assert removed.returncode == 0, removed.stderr
    assert status() == "deinstall ok config-files"
    assert SITE.exists()  # IT's settings survive a removal, as Debian keeps conffiles
    left = [p for p in owned if p != str(SITE) and p.startswith(("/opt/workstation",
            "/usr/bin/workstation", "/usr/share/applications/workstation",
            "/usr/share/icons/hicolor/256x256/apps/workstation", "/usr/share/doc/workstation"))
            and os.path.lexists(p)]
    assert left == []
    assert not Path("/opt/workstation").exists()  # nothing the program wrote there either

    purged = dpkg("-P", "workstation")
    assert purged.returncode == 0, purged.stderr
    assert status() == "not known to dpkg"
    assert not Path("/etc/workstation").exists()
    assert database.read_bytes() == kept  # users' data is theirs: never removed

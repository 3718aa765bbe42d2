"""The Windows Installer package (`make msi`): installers/windows/build-msi.sh builds it from a
bundle with Debian's wixl, and msiinfo reads its tables back: a 64-bit per-machine package, the
public properties for a silent install (secure, the credential hidden), the custom action that
has the installed program write the site file, every bundle file, the Start-menu shortcut and
the site file's folder.

Runs in the installers run only (`make installers` sets WORKSTATION_TEST_BUNDLE to the built
bundle folder); for a quick look, any folder with a `workstation` file and a few others will do.
"""

from __future__ import annotations

import os
import re
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

BUNDLE_ENV = "WORKSTATION_TEST_BUNDLE"
_bundle_env = os.environ.get(BUNDLE_ENV, "")
if not _bundle_env:
    pytest.skip(
        f"installers run only: {BUNDLE_ENV} names no bundle folder (make installers sets it)",
        allow_module_level=True,
    )

REPO = Path(__file__).resolve().parents[2]
WINDOWS = REPO / "installers" / "windows"
BUILD_MSI = WINDOWS / "build-msi.sh"
WXS = WINDOWS / "workstation.wxs"
WIX = "{http://schemas.microsoft.com/wix/2006/wi}"

VERSION = "1.2.3"
UPGRADE_CODE = "{B67730C9-3939-4DB0-89EF-5A8468C5B86A}"
PUBLIC_PROPERTIES = ("HUBURL", "ICESERVERS", "TURNUSERNAME", "TURNCREDENTIAL", "LOCKMINUTES",
                     "SITENAME")
# The write-site option each public property is handed to, quoted.
OPTIONS = {
    "HUBURL": "--hub-url",
    "ICESERVERS": "--ice-servers",
    "TURNUSERNAME": "--turn-username",
    "TURNCREDENTIAL": "--turn-credential",
    "LOCKMINUTES": "--lock-minutes",
    "SITENAME": "--site-name",
}
# CustomAction Type bits (Windows Installer SDK, "Custom Action Types").
EXE_FROM_INSTALLED_FILE = 18
IN_SCRIPT = 1024  # deferred
NO_IMPERSONATE = 2048  # runs as LocalSystem
HIDE_TARGET = 8192  # command line kept out of the log
WIN64_COMPONENT = 256
ELEVATION_NOT_REQUIRED = 8  # summary information word count: set in per-user packages


@dataclass(frozen=True)
class Table:
    name: str
    columns: list[str]
    rows: list[dict[str, str]]

    def row(self, **match: str) -> dict[str, str]:
        found = [r for r in self.rows if all(r[k] == v for k, v in match.items())]
        assert len(found) == 1, f"{self.name}: {len(found)} rows match {match}: {self.rows}"
        return found[0]

    def column(self, name: str) -> list[str]:
        return [r[name] for r in self.rows]


@dataclass(frozen=True)
class Msi:
    path: Path
    bundle: Path
    build_output: str

    def table(self, name: str) -> Table:
        """msiinfo export: tab-separated, first the column names, their types, then the table
        name and its keys; CRLF line ends (a stray CR stays in its value)."""
        out = _run(["msiinfo", "export", str(self.path), name]).stdout
        lines = out.replace("\r\n", "\n").removesuffix("\n").split("\n")
        assert len(lines) >= 3, f"msiinfo export {name}: {out!r}"
        columns = lines[0].split("\t")
        assert lines[2].split("\t")[0] == name
        rows = [dict(zip(columns, line.split("\t"), strict=True)) for line in lines[3:]]
        return Table(name, columns, rows)

    def properties(self) -> dict[str, str]:
        return {r["Property"]: r["Value"] for r in self.table("Property").rows}

    def suminfo(self) -> dict[str, str]:
        out = _run(["msiinfo", "suminfo", str(self.path)]).stdout
        return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, capture_output=True, text=True, check=False, timeout=600)
    assert proc.returncode == 0, f"{args} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def _bundle_files(bundle: Path) -> set[str]:
    """What the package must hold: regular files and links to them, not dangling links (a
    Linux bundle has both), not following links to folders."""
    found = set()
    for folder, _dirs, files in os.walk(bundle):
        for name in files:
            path = Path(folder, name)
            if path.is_file():
                found.add(path.relative_to(bundle).as_posix())
    return found


def _exe_name(bundle: Path) -> str:
    return "workstation.exe" if (bundle / "workstation.exe").is_file() else "workstation"


def _long_name(default_dir: str) -> str:
    """Directory.DefaultDir / File.FileName: "target:source", each "short|long"."""
    return default_dir.split(":")[0].split("|")[-1]


@pytest.fixture(scope="module")
def msi(tmp_path_factory: pytest.TempPathFactory) -> Msi:
    bundle = Path(_bundle_env).resolve()
    assert bundle.is_dir(), f"{BUNDLE_ENV}={_bundle_env}: no such folder"
    out = tmp_path_factory.mktemp("msi") / f"Workstation-{VERSION}.msi"
    proc = _run(["bash", str(BUILD_MSI), str(bundle), str(out), VERSION])
    assert out.is_file()
    return Msi(out, bundle, proc.stdout)


@pytest.fixture(scope="module")
def wxs() -> ET.Element:
    return ET.parse(WXS).getroot()


def test_the_script_prints_the_summary_and_the_properties(msi: Msi) -> None:
    assert "Template: x64;1033" in msi.build_output
    assert "ALLUSERS\t1" in msi.build_output
    assert f"ProductVersion\t{VERSION}" in msi.build_output


def test_a_64_bit_per_machine_package(msi: Msi) -> None:
    info = msi.suminfo()
    assert info["Template"] == "x64;1033"
    assert info["Version"].split()[0] == "500"  # Windows Installer 5 (MsiLockPermissionsEx)
    word_count = int(info["Source"].split()[0])
    assert not word_count & ELEVATION_NOT_REQUIRED
    props = msi.properties()
    assert props["ALLUSERS"] == "1"
    assert "MSIINSTALLPERUSER" not in props
    components = msi.table("Component")
    assert components.rows
    for row in components.rows:
        assert int(row["Attributes"]) & WIN64_COMPONENT, row


def test_product_properties(msi: Msi) -> None:
    props = msi.properties()
    assert props["ProductName"] == "Workstation"
    assert props["Manufacturer"] == "Workstation Project"
    assert props["ProductVersion"] == VERSION
    assert props["UpgradeCode"] == UPGRADE_CODE
    assert re.fullmatch(r"\{[0-9A-F-]{36}\}", props["ProductCode"])
    upgrade = msi.table("Upgrade")
    assert set(upgrade.column("UpgradeCode")) == {UPGRADE_CODE}
    assert set(upgrade.column("ActionProperty")) == {
        "WIX_UPGRADE_DETECTED",
        "WIX_DOWNGRADE_DETECTED",
    }
    conditions = msi.table("LaunchCondition").column("Condition")
    assert "NOT WIX_DOWNGRADE_DETECTED" in conditions


def test_public_properties_are_secure_and_have_no_default(msi: Msi, wxs: ET.Element) -> None:
    in_source = {p.get("Id") for p in wxs.iter(f"{WIX}Property") if p.get("Secure") == "yes"}
    assert in_source == set(PUBLIC_PROPERTIES)
    props = msi.properties()
    secure = props["SecureCustomProperties"].split(";")
    for name in (*PUBLIC_PROPERTIES, "WIX_UPGRADE_DETECTED", "WIX_DOWNGRADE_DETECTED"):
        assert secure.count(name) == 1, (name, secure)
        if name in PUBLIC_PROPERTIES:
            assert name not in props, f"{name} has a default value: {props[name]!r}"
    assert props["MsiHiddenProperties"].split(";") == ["TURNCREDENTIAL"]


def test_the_installed_program_writes_the_site_file(msi: Msi) -> None:
    action = msi.table("CustomAction").row(Action="WriteSiteConfig")
    assert int(action["Type"]) == EXE_FROM_INSTALLED_FILE | IN_SCRIPT | NO_IMPERSONATE | HIDE_TARGET
    assert action["Source"] == "WorkstationExe"
    target = action["Target"]
    assert target.startswith('config write-site --out "[SITECONFDIR]site.toml" ')
    for name, option in OPTIONS.items():
        assert f'{option} "[{name}]"' in target, (option, target)
    exe = msi.table("File").row(File="WorkstationExe")
    assert _long_name(exe["FileName"]) == _exe_name(msi.bundle)


def test_write_site_runs_in_the_script_after_the_files(msi: Msi) -> None:
    sequence = msi.table("InstallExecuteSequence")
    at = {r["Action"]: int(r["Sequence"]) for r in sequence.rows}
    assert at["InstallInitialize"] < at["InstallFiles"] < at["WriteSiteConfig"]
    assert at["WriteSiteConfig"] < at["InstallFinalize"]
    # MajorUpgrade removes the old version before the new one's script starts.
    assert at["InstallValidate"] < at["RemoveExistingProducts"] < at["InstallInitialize"]
    condition = sequence.row(Action="WriteSiteConfig")["Condition"]
    assert condition.startswith("NOT REMOVE AND (")
    assert set(re.findall(r"[A-Z]+", condition.split("(", 1)[1])) - {"OR"} == set(
        PUBLIC_PROPERTIES
    )


def test_every_bundle_file_is_in_the_package(msi: Msi) -> None:
    directories = {r["Directory"]: r for r in msi.table("Directory").rows}

    def under_installdir(directory: str) -> str:
        parts = []
        while directory != "INSTALLDIR":
            row = directories[directory]
            parts.append(_long_name(row["DefaultDir"]))
            directory = row["Directory_Parent"]
            assert directory, "a file outside INSTALLDIR"
        return "/".join(reversed(parts))

    component_dir = {r["Component"]: r["Directory_"] for r in msi.table("Component").rows}
    packaged: dict[str, dict[str, str]] = {}
    for row in msi.table("File").rows:
        folder = under_installdir(component_dir[row["Component_"]])
        path = f"{folder}/{_long_name(row['FileName'])}" if folder else _long_name(row["FileName"])
        assert path not in packaged, f"{path} twice"
        packaged[path] = row
    expected = _bundle_files(msi.bundle)
    assert len(packaged) == len(expected)
    assert set(packaged) == expected
    exe = _exe_name(msi.bundle)
    assert packaged[exe]["File"] == "WorkstationExe"
    assert packaged[exe]["Component_"] == "MainExecutable"
    sample = sorted(expected)[:: max(1, len(expected) // 20)]
    for path in sample:
        assert int(packaged[path]["FileSize"]) == (msi.bundle / path).stat().st_size, path
    features = msi.table("FeatureComponents")
    assert set(features.column("Feature_")) == {"Complete"}
    assert set(features.column("Component_")) == set(component_dir)


def test_start_menu_shortcut(msi: Msi) -> None:
    shortcut = msi.table("Shortcut").row(Shortcut="StartMenuShortcut")
    assert shortcut["Directory_"] == "ProgramMenuFolder"
    assert _long_name(shortcut["Name"]) == "Workstation"
    assert shortcut["Component_"] == "MainExecutable"  # the exe's component
    assert shortcut["Target"] == "Complete"  # advertised: the feature
    assert shortcut["WkDir"] == "INSTALLDIR"


def test_install_folder_and_site_file_folder(msi: Msi, wxs: ET.Element) -> None:
    directories = msi.table("Directory")
    installdir = directories.row(Directory="INSTALLDIR")
    assert installdir["Directory_Parent"] == "ProgramFiles64Folder"
    assert _long_name(installdir["DefaultDir"]) == "Workstation"
    assert directories.row(Directory="ProgramFiles64Folder")["Directory_Parent"] == "TARGETDIR"
    siteconf = directories.row(Directory="SITECONFDIR")
    assert siteconf["Directory_Parent"] == "CommonAppDataFolder"
    assert _long_name(siteconf["DefaultDir"]) == "Workstation"
    assert directories.row(Directory="CommonAppDataFolder")["Directory_Parent"] == "TARGETDIR"
    create = msi.table("CreateFolder").row(Directory_="SITECONFDIR")
    assert create["Component_"] == "SiteConfigFolder"
    # The site file itself is not the package's: removing the product leaves it.
    assert not msi.table("RemoveFile").rows
    (permission,) = wxs.iter(f"{WIX}PermissionEx")
    lock = msi.table("MsiLockPermissionsEx").row(LockObject="SITECONFDIR")
    assert lock["Table"] == "CreateFolder"
    assert lock["SDDL"] == permission.get("Sddl")
    assert lock["SDDL"].startswith("D:P")  # protected: nothing inherited from ProgramData
    assert "(A;OICI;0x1200a9;;;BU)" in lock["SDDL"]  # Users: read and execute only


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/nonexistent/bundle", "out.msi"], "does not exist"),
        (["{bundle}", "out.msi", "1.0.0rc1"], "not a Windows Installer product version"),
        (["{bundle}", "out.zip"], "must end in .msi"),
        (["{bundle}"], "usage:"),
    ],
)
def test_build_msi_refuses_clearly(tmp_path: Path, args: list[str], message: str) -> None:
    args = [a.replace("{bundle}", _bundle_env) for a in args]
    args = [str(tmp_path / a) if a.startswith("out.") else a for a in args]
    proc = subprocess.run(
        ["bash", str(BUILD_MSI), *args], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr
    assert not list(tmp_path.iterdir())


def test_icon_when_the_repository_has_one(msi: Msi) -> None:
    shortcut = msi.table("Shortcut").row(Shortcut="StartMenuShortcut")
    if (REPO / "resources" / "workstation.ico").is_file():
        assert msi.table("Icon").column("Name") == ["WorkstationIcon.exe"]
        assert shortcut["Icon_"] == "WorkstationIcon.exe"
        assert msi.properties()["ARPPRODUCTICON"] == "WorkstationIcon.exe"
    else:
        assert not msi.table("Icon").rows
        assert shortcut["Icon_"] == ""

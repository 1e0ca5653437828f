"""The Windows MSI (``packaging/msi/``, ``make msi``): built here with msitools' wixl from a STAND-IN
payload (plain files named like a frozen Windows build; nothing in it runs), then read back table by
table with ``msiinfo export``: the service (name, automatic start, command line), its control events,
the files (the payload's and the config), the folders under ProgramData, the fixed upgrade code.

What this cannot show: that Windows installs it, that the service starts, that the custom action
locks the folder down. None of that has run (see the README's "Windows (MSI)")."""
from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import portald

ROOT = Path(__file__).resolve().parent.parent
MSI_DIR = ROOT / "packaging" / "msi"
UPGRADE_CODE = "{6F0C2B8E-3D1A-4E57-9B62-0A4D7C9E5F13}"  # fixed for the product's lifetime: never change it
# msidbServiceControlEvent: install start 1, install stop 2, uninstall stop 32, uninstall delete 128
INSTALL_START, INSTALL_STOP, UNINSTALL_STOP, UNINSTALL_DELETE = 1, 2, 32, 128
# the stand-in payload: a top-level exe, files in nested folders, names with a space and a "$"
PAYLOAD = {
    "portald.exe": "stand-in: not a Windows program\n",
    "_internal/python311.dll": "stand-in dll\n",
    "_internal/base_library.zip": "stand-in zip\n",
    "_internal/portald_plugins/boards/windows/__init__.pyc": "stand-in pyc\n",
    "_internal/Lib Files/cost$1.txt": "a name with a space and a dollar\n",
}

needs_wixl = pytest.mark.skipif(shutil.which("wixl") is None or shutil.which("msiinfo") is None,
                                reason="msitools' wixl and msiinfo are not installed (Debian: wixl msitools)")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"portald_msi_{name}", MSI_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_msi = _load("build_msi")
payload_fragment = _load("payload_fragment")


def _write_payload(folder: Path) -> Path:
    for relative, text in PAYLOAD.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)
    (folder / "_internal" / "empty").mkdir()  # an empty folder: left out
    return folder


def export(msi: Path, table: str) -> list[dict[str, str]]:
    """The rows of one table, as ``msiinfo export`` prints it (names, types, keys, then the rows)."""
    lines = subprocess.run(["msiinfo", "export", str(msi), table], check=True, capture_output=True,
                           text=True).stdout.splitlines()
    columns = lines[0].split("\t")
    return [dict(zip(columns, line.split("\t"))) for line in lines[3:]]


def _tables(msi: Path) -> dict[str, list[dict[str, str]]]:
    names = subprocess.run(["msiinfo", "tables", str(msi)], check=True, capture_output=True, text=True).stdout.split()
    return {name: export(msi, name) for name in names if not name.startswith("_")}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(msi, payload folder): one build for the module's table checks."""
    payload = _write_payload(tmp_path_factory.mktemp("payload"))
    return build_msi.build(payload, tmp_path_factory.mktemp("dist")), payload


@pytest.fixture(scope="module")
def tables(built):
    return _tables(built[0])


def _directory_path(directories: dict[str, dict], key: str) -> str:
    """``ProgramFiles64Folder/portald/...`` for a Directory key (TARGETDIR's "SourceDir" left out)."""
    parts = []
    while key and key != "TARGETDIR":
        row = directories[key]
        name = row["DefaultDir"].split("|")[-1]
        parts.append(key if name == "." else name)
        key = row["Directory_Parent"]
    return "/".join(reversed(parts))


def _installed_files(tables) -> dict[str, dict]:
    directories = {row["Directory"]: row for row in tables["Directory"]}
    components = {row["Component"]: row for row in tables["Component"]}
    return {f"{_directory_path(directories, components[row['Component_']]['Directory_'])}/{row['FileName']}": row
            for row in tables["File"]}


@needs_wixl
def test_msi_is_named_for_the_version_and_carries_it(built, tables):
    msi, _ = built
    assert msi.name == f"portald-{portald.__version__}-x64.msi"
    properties = {row["Property"]: row["Value"] for row in tables["Property"]}
    assert properties["ProductVersion"] == portald.__version__
    assert properties["ProductName"] == "portald"
    assert properties["ALLUSERS"] == "1"  # per machine: a service is the machine's
    assert properties["ProductCode"] == "{%s}" % build_msi.product_code(portald.__version__).upper()


@needs_wixl
def test_service_is_installed_to_start_at_boot_with_its_config_and_state_under_programdata(tables):
    (service,) = tables["ServiceInstall"]
    assert service["Name"] == "portald"
    assert service["StartType"] == "2"  # SERVICE_AUTO_START
    assert service["ServiceType"] == "16"  # SERVICE_WIN32_OWN_PROCESS
    assert service["StartName"] == ""  # LocalSystem: the daemon drives the machine's hardware
    assert service["Arguments"] == 'run --config "[DATADIR]portald.toml" --state-dir "[STATEDIR]."'
    # the service binary is the key file of the component that installs the service
    component = next(row for row in tables["Component"] if row["Component"] == service["Component_"])
    key_file = next(row for row in tables["File"] if row["File"] == component["KeyPath"])
    assert key_file["FileName"] == "portald.exe" and component["Directory_"] == "INSTALLDIR"


@needs_wixl
def test_service_is_started_on_install_and_stopped_and_removed_on_uninstall(tables):
    (control,) = tables["ServiceControl"]
    assert control["Name"] == "portald" and control["Wait"] == "1"
    assert int(control["Event"]) == INSTALL_START | INSTALL_STOP | UNINSTALL_STOP | UNINSTALL_DELETE
    sequence = {row["Action"]: int(row["Sequence"]) for row in tables["InstallExecuteSequence"]}
    assert sequence["StopServices"] < sequence["InstallFiles"] < sequence["InstallServices"] < sequence["StartServices"]


@needs_wixl
def test_every_payload_file_and_the_config_are_installed_and_nothing_else(built, tables):
    _, payload = built
    files = _installed_files(tables)
    expected = {f"ProgramFiles64Folder/portald/{relative}" for relative in PAYLOAD}
    expected.add("CommonAppDataFolder/portald/portald.toml")
    assert set(files) == expected
    config = files["CommonAppDataFolder/portald/portald.toml"]
    assert int(config["FileSize"]) == (ROOT / "etc" / "portald.toml").stat().st_size
    for relative, text in PAYLOAD.items():
        assert int(files[f"ProgramFiles64Folder/portald/{relative}"]["FileSize"]) == len(text.encode())
    assert not any("empty" in path for path in files)
    # every component is 64-bit (msidbComponentAttributes64bit), as its folders are
    assert all(int(row["Attributes"]) & 256 for row in tables["Component"])


@needs_wixl
def test_upgrade_code_is_the_fixed_one_and_a_newer_version_replaces_an_older(tables):
    properties = {row["Property"]: row["Value"] for row in tables["Property"]}
    assert properties["UpgradeCode"] == UPGRADE_CODE
    upgrades = {row["ActionProperty"]: row for row in tables["Upgrade"]}
    assert {row["UpgradeCode"] for row in upgrades.values()} == {UPGRADE_CODE}
    assert upgrades["WIX_UPGRADE_DETECTED"]["VersionMax"] == portald.__version__  # older ones are removed
    assert upgrades["WIX_DOWNGRADE_DETECTED"]["VersionMin"] == portald.__version__  # a downgrade is refused
    assert "RemoveExistingProducts" in {row["Action"] for row in tables["InstallExecuteSequence"]}


@needs_wixl
def test_config_plugins_and_state_folders_are_under_common_app_data(tables):
    directories = {row["Directory"]: row for row in tables["Directory"]}
    assert _directory_path(directories, "DATADIR") == "CommonAppDataFolder/portald"
    assert _directory_path(directories, "PLUGINSDIR") == "CommonAppDataFolder/portald/plugins.d"
    assert _directory_path(directories, "STATEDIR") == "CommonAppDataFolder/portald/state"
    assert _directory_path(directories, "INSTALLDIR") == "ProgramFiles64Folder/portald"
    assert {row["Directory_"] for row in tables["CreateFolder"]} == {"PLUGINSDIR", "STATEDIR"}
    # the config's component is unregistered (no ComponentId): kept across upgrades and uninstall
    config = next(row for row in tables["Component"] if row["KeyPath"] == "portald.toml")
    assert config["ComponentId"] == ""
    # the daemon finds its plugins folder through the service's environment
    (environment,) = [row for row in tables["Registry"] if row["Name"] == "Environment"]
    assert environment["Key"] == r"SYSTEM\CurrentControlSet\Services\portald" and environment["Root"] == "2"
    assert environment["Value"] == "[~]PORTALD_PLUGINS_DIR=[PLUGINSDIR][~]"


@needs_wixl
def test_programdata_folder_is_locked_to_system_and_administrators_after_the_files(tables):
    (action,) = tables["CustomAction"]
    assert action["Action"] == "LockDataDir" and action["Source"] == "ICACLS"
    # 50: an exe named by a property; +1024 deferred, +2048 not impersonated (runs as LocalSystem)
    assert int(action["Type"]) == 50 + 1024 + 2048
    assert action["Target"].startswith('"[DATADIR]." /inheritance:r /grant:r ')
    assert "*S-1-5-18:(OI)(CI)F" in action["Target"] and "*S-1-5-32-544:(OI)(CI)F" in action["Target"]
    sequence = {row["Action"]: row for row in tables["InstallExecuteSequence"]}
    assert int(sequence["LockDataDir"]["Sequence"]) > int(sequence["InstallFiles"]["Sequence"])
    assert sequence["LockDataDir"]["Condition"] == 'NOT REMOVE~="ALL"'


@needs_wixl
def test_two_builds_of_one_payload_have_the_same_tables(built, tables, tmp_path):
    _, payload = built
    again = build_msi.build(payload, tmp_path)
    assert _tables(again) == tables


def test_component_guids_and_ids_depend_on_the_path_only():
    guid = payload_fragment.component_guid("_internal/python311.dll")
    assert guid == payload_fragment.component_guid("_INTERNAL/Python311.DLL")  # Windows ignores case
    assert guid != payload_fragment.component_guid("_internal/python312.dll")
    assert uuid.UUID(guid).version == 5


@pytest.mark.parametrize("name, reason", [
    ("a:b.dll", "not a valid Windows file name"),
    ("con.txt", "not a valid Windows file name"),
    ("trailing.", "not a valid Windows file name"),
])
def test_a_payload_file_windows_cannot_hold_is_refused(tmp_path, name, reason):
    (tmp_path / "portald.exe").write_text("x")
    (tmp_path / name).write_text("x")
    with pytest.raises(payload_fragment.PayloadError, match=reason):
        payload_fragment.fragment(tmp_path)


def test_a_payload_without_portald_exe_or_with_a_link_is_refused(tmp_path):
    (tmp_path / "portald.py").write_text("x")
    with pytest.raises(payload_fragment.PayloadError, match="no portald.exe"):
        payload_fragment.fragment(tmp_path)
    (tmp_path / "portald.exe").write_text("x")
    (tmp_path / "link.dll").symlink_to(tmp_path / "portald.py")
    with pytest.raises(payload_fragment.PayloadError, match="symbolic link"):
        payload_fragment.fragment(tmp_path)


@needs_wixl
def test_make_msi_without_a_payload_builds_a_stand_in_named_as_such(tmp_path, capsys):
    assert build_msi.main(["--stand-in", "--out", str(tmp_path)]) == 0
    (msi,) = tmp_path.iterdir()
    assert msi.name == f"portald-{portald.__version__}-x64-STAND-IN.msi"
    assert "STAND-IN" in capsys.readouterr().out
    assert {row["FileName"] for row in export(msi, "File")} >= {"portald.exe", "portald.toml"}


@needs_wixl
def test_make_msi_with_a_bad_payload_says_why_and_fails(tmp_path, capsys):
    assert build_msi.main(["--payload", str(tmp_path), "--out", str(tmp_path / "dist")]) == 1
    assert "no portald.exe" in capsys.readouterr().err
    assert not (tmp_path / "dist").exists() or not any((tmp_path / "dist").iterdir())


@pytest.mark.parametrize("version", ["1.0", "1.0.0", "255.255.65535"])
def test_msi_versions_windows_installer_takes(version):
    assert build_msi.msi_version(version) == version


@pytest.mark.parametrize("version", ["1", "1.0.0.1", "1.0.0.dev1", "256.0.0", "1.0.65536"])
def test_versions_windows_installer_cannot_take_are_refused(version):
    with pytest.raises(SystemExit, match="not an MSI version"):
        build_msi.msi_version(version)


def test_makefile_passes_payload_and_defaults_to_the_stand_in():
    make = subprocess.run(["make", "-n", "-C", str(ROOT), "msi", "PAYLOAD=/some/dir", "PYTHON=python3"],
                          check=True, capture_output=True, text=True).stdout
    assert re.search(r'build_msi\.py --payload "/some/dir" --out dist', make)
    make = subprocess.run(["make", "-n", "-C", str(ROOT), "msi"], check=True, capture_output=True, text=True).stdout
    assert "build_msi.py --stand-in --out dist" in make  # (make -n prints, runs nothing)


def test_the_script_pyinstaller_freezes_is_the_portald_command():
    done = subprocess.run([sys.executable, str(MSI_DIR / "portald_entry.py"), "--version"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"portald {portald.__version__}"

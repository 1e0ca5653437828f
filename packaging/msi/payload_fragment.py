"""The WiX fragment for the MSI's payload: every file under a payload folder (a frozen Windows build of
portald) as a ``<Directory>``/``<Component>``/``<File>`` tree under ``INSTALLDIR``, and a
``<ComponentGroup Id="Payload">`` listing the components.

Builds are reproducible: the output depends only on the payload's relative paths. Ids are a hash of the path (``d_``/``c_``/``f_`` + 32 hex digits: within the 72 characters MSI
allows), a component's GUID is a UUID5 of the path, lower-cased since Windows paths are not
case-sensitive: a file keeps its component GUID from one build to the next, as Windows Installer's
component rules ask. One file per component, the file its key path. Files and folders are sorted;
empty folders are left out; links and names Windows cannot hold are refused.

``Source`` paths are relative (``<source_prefix>/<path>``): wixl 0.101 looks files up below the folder
it runs in and cannot take an absolute path.

The service executable (``portald.exe`` at the top) is declared by ``portald.wxs`` itself, with its
service, so it is left out here.

    python3 payload_fragment.py PAYLOAD_DIR [SOURCE_PREFIX] > payload.wxs
"""
from __future__ import annotations

import hashlib
import sys
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

WIX_NS = "http://schemas.microsoft.com/wix/2006/wi"
SERVICE_EXE = "portald.exe"  # declared in portald.wxs with its ServiceInstall
# the namespace of the payload's component GUIDs: fixed, so that a path always gets the same GUID
GUID_NAMESPACE = uuid.UUID("9d3c6a52-7e0b-4c1f-a8d4-5b2e61f0c7a9")
WINDOWS_FORBIDDEN = set('<>:"|?*\\') | {chr(c) for c in range(32)}
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


class PayloadError(ValueError):
    """The payload folder cannot be packaged; the message says why."""


def _key(relative: str) -> str:
    return hashlib.sha256(relative.lower().encode()).hexdigest()[:32]


def component_guid(relative: str) -> str:
    """The component GUID of the payload file at ``relative`` (a POSIX path below the payload)."""
    return str(uuid.uuid5(GUID_NAMESPACE, "portald/payload/" + relative.lower()))


def _wix_text(text: str) -> str:
    # wixl's preprocessor reads $(...) in attribute values; "$$" is a literal "$"
    return text.replace("$", "$$")


def _check_name(name: str, relative: str) -> None:
    if WINDOWS_FORBIDDEN & set(name) or name.endswith((" ", ".")) or name.split(".")[0].upper() in WINDOWS_RESERVED:
        raise PayloadError(f"{relative}: not a valid Windows file name")


def _add_folder(parent: ET.Element, folder: Path, root: Path, prefix: str, components: list[str]) -> bool:
    """Adds ``folder``'s files and subfolders under ``parent``; False when it held no file at all."""
    added = False
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        relative = entry.relative_to(root).as_posix()
        _check_name(entry.name, relative)
        if entry.is_symlink():
            raise PayloadError(f"{relative}: a symbolic link (an MSI holds files only)")
        if entry.is_dir():
            element = ET.Element(f"{{{WIX_NS}}}Directory", Id=f"d_{_key(relative)}", Name=_wix_text(entry.name))
            if _add_folder(element, entry, root, prefix, components):
                parent.append(element)
                added = True
            continue
        if not entry.is_file():
            raise PayloadError(f"{relative}: not a regular file")
        if relative == SERVICE_EXE:
            continue
        component_id = f"c_{_key(relative)}"
        component = ET.SubElement(parent, f"{{{WIX_NS}}}Component", Id=component_id, Guid=component_guid(relative),
                                  Win64="yes")
        ET.SubElement(component, f"{{{WIX_NS}}}File", Id=f"f_{_key(relative)}", Name=_wix_text(entry.name),
                      Source=_wix_text(f"{prefix}/{relative}"), KeyPath="yes")
        components.append(component_id)
        added = True
    return added


def fragment(payload: Path, source_prefix: str = "payload") -> str:
    """The WiX source of the payload's fragment (a complete ``<Wix>`` document); wixl is to run where
    ``source_prefix`` names the payload folder."""
    payload = Path(payload)
    if not (payload / SERVICE_EXE).is_file():
        raise PayloadError(f"{payload}: no {SERVICE_EXE} at its top (the frozen daemon the service runs)")
    ET.register_namespace("", WIX_NS)
    wix = ET.Element(f"{{{WIX_NS}}}Wix")
    directories = ET.SubElement(ET.SubElement(wix, f"{{{WIX_NS}}}Fragment"), f"{{{WIX_NS}}}DirectoryRef",
                                Id="INSTALLDIR")
    components: list[str] = []
    _add_folder(directories, payload, payload, source_prefix, components)
    group = ET.SubElement(ET.SubElement(wix, f"{{{WIX_NS}}}Fragment"), f"{{{WIX_NS}}}ComponentGroup", Id="Payload")
    for component_id in components:
        ET.SubElement(group, f"{{{WIX_NS}}}ComponentRef", Id=component_id)
    ET.indent(wix)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(wix, encoding="unicode") + "\n"


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(f"usage: {sys.argv[0]} PAYLOAD_DIR [SOURCE_PREFIX] > payload.wxs")
    try:
        sys.stdout.write(fragment(Path(sys.argv[1]), *sys.argv[2:]))
    except PayloadError as exc:
        sys.exit(f"payload_fragment: {exc}")

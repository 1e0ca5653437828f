"""``docs/capabilities.md`` — the list of capabilities, their Protocols, settings, events and the drivers
each board offers — is made from the plugins' own declarations, so it cannot drift from the code.
``PORTALD_UPDATE_DOCS=1 pytest tests/test_capabilities_doc.py`` rewrites it after a change."""
from __future__ import annotations

import importlib.metadata
import inspect
import os
from pathlib import Path

from portald.board import driver_modules
from portald.capability import Capability
from portald.contract import members

DOC = Path(__file__).resolve().parent.parent / "docs" / "capabilities.md"
BOARDS = ("linux", "sim", "windows")

HEADER = """# Capabilities and their driver interfaces

Made from the plugins' declarations by `tests/test_capabilities_doc.py` (which fails when this file is
out of date; `PORTALD_UPDATE_DOCS=1` rewrites it). A board's driver for a capability satisfies the
capability's Protocol: the methods below, with the types, units and errors its docstring gives
(`portald.contract` checks it before a driver is used). Every Protocol derives from
`portald.drivers.Driver`: `name` (`"<board>.<capability>"`) and `probe() -> bool`. How to add a
capability or a board: [CONTRIBUTING.md](../CONTRIBUTING.md).
"""


def _source_path(obj) -> str:
    path = Path(inspect.getsourcefile(obj)).resolve()
    return path.relative_to(DOC.parent.parent).as_posix()


def _signature(name: str, function) -> str:
    """``name(arg: type, ...) -> type`` as written in the Protocol (annotations are strings there)."""
    def text(annotation) -> str:
        return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)

    signature = inspect.signature(function)
    params = []
    for param in signature.parameters.values():
        if param.name == "self":
            continue
        part = param.name if param.annotation is param.empty else f"{param.name}: {text(param.annotation)}"
        if param.default is not param.empty:
            part += f" = {param.default!r}"
        if param.kind is param.KEYWORD_ONLY and "*" not in params:
            params.append("*")
        params.append(part)
    returns = "" if signature.return_annotation is signature.empty else f" -> {text(signature.return_annotation)}"
    return f"{name}({', '.join(params)}){returns}"


def render() -> str:
    declared: dict[str, tuple[str, Capability]] = {}
    for ep in sorted(importlib.metadata.entry_points(group="portald.plugins"), key=lambda e: e.name):
        if ep.dist is None or ep.dist.name != "portald":
            continue
        capability = getattr(ep.load(), "CAPABILITY", None)
        if isinstance(capability, Capability):
            for one in (capability, *capability.also):  # settings belong to the main declaration
                declared[one.name] = (ep.name, one)
    drivers: dict[str, dict[str, str]] = {}
    for board in BOARDS:
        for module in driver_modules(f"portald_plugins.boards.{board}"):
            settings = f" (`[plugins.{board}.{module.CAPABILITY}]`)" if getattr(module, "Settings", None) else ""
            path = _source_path(module)
            drivers.setdefault(module.CAPABILITY, {})[board] = f"[{Path(path).name}](../{path}){settings}"

    lines = [HEADER, f"| capability | plugin | Protocol | events | settings | {' | '.join(BOARDS)} |",
             "|---|---|---|---|---|" + "---|" * len(BOARDS)]
    for name, (plugin, cap) in sorted(declared.items()):
        protocol = f"[`{cap.protocol.__name__}`]({Path('..', _source_path(cap.protocol)).as_posix()})" \
            if cap.protocol else "—"
        events = ", ".join(f"`{e}`" for e in sorted(cap.events)) or "—"
        settings = f"`[plugins.{plugin}]`" if cap.settings_model else "—"
        boards = [drivers.get(name, {}).get(board, "—") for board in BOARDS]
        lines.append(f"| {name} | `{plugin}` | {protocol} | {events} | {settings} | {' | '.join(boards)} |")
    lines.append("")
    for name, (plugin, cap) in sorted(declared.items()):
        if cap.protocol is None:
            continue
        lines.append(f"## {name}: `{cap.protocol.__name__}`")
        lines.append("")
        doc = inspect.getdoc(cap.protocol) or ""
        lines.append(doc.split("\n\n")[0].replace("\n", " "))
        lines.append("")
        for member, function in members(cap.protocol).items():
            if member in ("name", "probe"):
                continue
            if function is None:
                lines.append(f"- `{member}`")
            else:
                lines.append(f"- `{_signature(member, function)}`")
        lines.append("")
    return "\n".join(lines)


def test_capabilities_doc_is_current():
    text = render()
    if os.environ.get("PORTALD_UPDATE_DOCS"):
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(text)
    assert DOC.exists() and DOC.read_text() == text, "docs/capabilities.md is out of date: PORTALD_UPDATE_DOCS=1"

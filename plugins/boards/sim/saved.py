"""How the sim board's drivers read their state back: one JSON file each in the board's state folder,
and a file that cannot be read or does not have the driver's shape is logged and replaced by the
driver's first-boot state (a virtual board must start whatever is on the disk)."""
from __future__ import annotations

import copy
import logging
from typing import Any, Callable

log = logging.getLogger(__name__)


def load(state, file: str, what: str, default: Any, well_formed: Callable[[Any], bool]) -> Any:
    """The saved value of ``file``, or a copy of ``default`` when there is none, it is unreadable or
    ``well_formed`` refuses it."""
    try:
        saved = state.read_json(file)
    except (ValueError, OSError) as exc:
        log.warning("sim %s state %s unreadable, starting afresh: %s", what, state.path(file), exc)
        return copy.deepcopy(default)
    if saved is None:
        return copy.deepcopy(default)
    if not well_formed(saved):
        log.warning("sim %s state %s malformed, starting afresh", what, state.path(file))
        return copy.deepcopy(default)
    return saved

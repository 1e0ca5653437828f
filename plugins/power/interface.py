"""The ``power`` driver interface: the state of the board's two power inputs (redundant power)."""
from __future__ import annotations

from typing import Literal, Protocol, TypedDict

from portald.drivers import Driver


class InputStates(TypedDict):
    vin1: Literal[0, 1]  # 1 online (power present), 0 offline
    vin2: Literal[0, 1]


class PowerDriver(Driver, Protocol):
    """Reads whether each of the two power inputs is online (``/platform/api/perif/redundant_power``).

    ``probe()`` is true when both inputs can be read. Errors: ``read()`` raises ``OSError`` naming the
    input when one cannot be read — an unreadable sensor is not evidence that the input is offline;
    answered 404 "no available data" with the reason, as the spec lists.
    """

    def read(self) -> InputStates:
        """Both inputs, read from the hardware on every call (cheap: the plugin polls it while someone
        listens to ``pwrstatus``)."""
        ...

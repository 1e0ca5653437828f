"""The network adapter types of the API (``type``/``typeId`` of ``GET /platform/api/networking/interfaces``)
and their IANA ifType numbers (RFC 2863 ``ifType``, the numbers the spec's examples use: Ethernet 6,
IEEE 802.11 71). In the core because every board's networking driver names types alike and a board may
not import a capability plugin; ``plugins/networking/interface.py`` documents which Linux link is which.
"""
from __future__ import annotations

TYPE_IDS = {"Ethernet": 6, "Wi-Fi": 71, "Loopback": 24, "PPP": 23, "Tunnel": 131, "Bridge": 209, "Other": 1}


def type_id(kind: str) -> int:
    """The ifType number of a type name; ``Other`` (1) for a name not in the table."""
    return TYPE_IDS.get(kind, TYPE_IDS["Other"])

"""Checks of a static IPv4 configuration before anything changes (``PUT .../ipv4config/:ifIndex``).

Two kinds of fault, two error areas, as the spec's two 422 bodies suggest:

* a body that does not have the spec's shape — a field missing, not a string, not a dotted quad, a
  mask that is not contiguous — is ``validator`` ("the request body has missing parameters");
* a well-formed configuration that cannot work — the gateway outside the subnet, the address being
  the subnet's network or broadcast address, a /32 with a gateway — is ``Net``.
"""
from __future__ import annotations

import ipaddress

from pydantic import field_validator

from portald.errors import AreaError, ValidationFailed
from portald.validation import Body

AREA = "Net"


def _dotted_quad(value: str, field: str) -> str:
    parts = value.split(".")
    if len(parts) != 4 or not all(p.isdigit() and p.isascii() and len(p) <= 3 for p in parts):
        raise ValueError(f"{field} must be a dotted-quad IPv4 address, got {value!r}")
    try:
        return str(ipaddress.IPv4Address(value))
    except ipaddress.AddressValueError as exc:
        raise ValueError(f"{field}: {exc}") from None


class Ipv4Body(Body):
    """The spec's body. ``defaultGateway`` and ``primaryDNS`` may be ``""``/``null`` (none) — a
    device on an isolated machine network has neither; ``secondaryDNS`` is optional."""

    ipAddress: str
    subnetMask: str
    defaultGateway: str | None = None
    primaryDNS: str | None = None
    secondaryDNS: str | None = None

    @field_validator("ipAddress")
    @classmethod
    def _address(cls, value: str) -> str:
        return _dotted_quad(value, "ipAddress")

    @field_validator("subnetMask")
    @classmethod
    def _mask(cls, value: str) -> str:
        mask = _dotted_quad(value, "subnetMask")
        bits = int(ipaddress.IPv4Address(mask))
        inverted = ~bits & 0xFFFFFFFF
        if bits == 0 or inverted & (inverted + 1):
            raise ValueError(f"subnetMask {value!r} is not a contiguous netmask")
        return mask

    @field_validator("defaultGateway", "primaryDNS", "secondaryDNS")
    @classmethod
    def _optional(cls, value: str | None, info) -> str:
        return _dotted_quad(value, info.field_name) if value else ""


def checked(body: Ipv4Body) -> dict:
    """The configuration as the driver gets it (``interface.Ipv4Config``), or ``AreaError("Net")``."""
    network = ipaddress.IPv4Network(f"{body.ipAddress}/{body.subnetMask}", strict=False)
    address = ipaddress.IPv4Address(body.ipAddress)
    if network.prefixlen < 31 and address in (network.network_address, network.broadcast_address):
        raise AreaError(AREA, f"{address} is the {'network' if address == network.network_address else 'broadcast'} "
                              f"address of {network}, not a host address")
    if address.is_multicast or address.is_unspecified or address.is_loopback or str(address) == "255.255.255.255":
        raise AreaError(AREA, f"{address} cannot be an interface address")
    if body.defaultGateway:
        gateway = ipaddress.IPv4Address(body.defaultGateway)
        if gateway not in network:
            raise AreaError(AREA, f"defaultGateway {gateway} is outside the subnet {network}")
        if gateway == address:
            raise AreaError(AREA, "defaultGateway is the interface's own address")
        if network.prefixlen < 31 and gateway in (network.network_address, network.broadcast_address):
            raise AreaError(AREA, f"defaultGateway {gateway} is not a host address of {network}")
    if body.secondaryDNS and not body.primaryDNS:
        raise ValidationFailed("secondaryDNS given without primaryDNS")
    return {"ipAddress": body.ipAddress, "subnetMask": body.subnetMask, "defaultGateway": body.defaultGateway,
            "primaryDNS": body.primaryDNS, "secondaryDNS": body.secondaryDNS or None}

"""One SNMP datagram (v1 Trap-PDU or v2c SNMPv2-Trap-PDU) into the ``snmptrap`` event's JSON.

The BER is decoded by pysnmp's protocol modules (``pysnmp.proto.api``) and pyasn1, never by hand. What
comes out (the payload is ours: the spec only names the event)::

    {"source": "192.0.2.7",            # the IP address the datagram came from
     "version": "1" | "2c",
     "community": "public",
     "trapOID": "1.3.6.1.6.3.1.1.5.4", # dotted
     "uptime": 12345,                  # the agent's sysUpTime, TimeTicks (hundredths of a second)
     "variables": [{"oid": "1.3.6.1.2.1.2.2.1.1.3", "type": "Integer32", "value": 3}, ...]}

A v1 trap is translated as RFC 3584 section 3.1 says: its trapOID is ``snmpTraps.<generic+1>`` for a
generic trap and ``<enterprise>.0.<specific>`` for an enterprise-specific one, ``uptime`` is its
time-stamp, and ``snmpTrapAddress.0`` (the agent-addr field) and ``snmpTrapEnterprise.0`` are appended to
its variables. A v2c trap's first two variables (sysUpTime.0, snmpTrapOID.0) become ``uptime`` and
``trapOID`` and are not repeated in ``variables``.

Variable types are the SMIv2 names: Integer32, OctetString, ObjectIdentifier, IpAddress, Counter32,
Gauge32, TimeTicks, Counter64, Opaque, Bits, Null, and noSuchObject/noSuchInstance/endOfMibView.
Numbers are JSON numbers, an OID dotted, an IpAddress dotted-quad. An OctetString that is UTF-8 text
(no control characters but tab, CR and LF) is that text; any other OctetString, Opaque or Bits value is
lowercase hex with ``"hex": true`` added to the variable.
"""
from __future__ import annotations

from typing import Any

from pyasn1.codec.ber import decoder
from pyasn1.error import PyAsn1Error
from pysnmp.proto import api
from pysnmp.proto.error import ProtocolError

VERSIONS = {api.SNMP_VERSION_1: "1", api.SNMP_VERSION_2C: "2c"}
SNMP_TRAPS = (1, 3, 6, 1, 6, 3, 1, 1, 5)  # snmpTraps: coldStart.1 ... egpNeighborLoss.6
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SNMP_TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
SNMP_TRAP_ADDRESS = (1, 3, 6, 1, 6, 3, 18, 1, 3, 0)
SNMP_TRAP_ENTERPRISE = (1, 3, 6, 1, 6, 3, 1, 1, 4, 3, 0)

_NUMBERS = {"Integer32", "Counter32", "Gauge32", "Unsigned32", "TimeTicks", "Counter64"}
_BINARY = {"Opaque", "Bits"}
_EXCEPTIONS = {"NoSuchObject": "noSuchObject", "NoSuchInstance": "noSuchInstance", "EndOfMibView": "endOfMibView"}


class Malformed(ValueError):
    """Not a well-formed SNMP message (bad BER, unknown version, trailing bytes)."""


class NotATrap(ValueError):
    """A well-formed SNMP message that is no trap (a get, a response, an inform): ignored."""


def decode(datagram: bytes) -> tuple[str, str, Any]:
    """``(version, community, pdu)`` of one message; raises ``Malformed`` or ``NotATrap``. The
    community is checked before the PDU is looked at further (``event``)."""
    try:
        number = int(api.decodeMessageVersion(datagram))
        module = api.PROTOCOL_MODULES.get(number)
        if module is None:
            raise Malformed(f"SNMP version number {number} is neither v1 nor v2c")
        message, rest = decoder.decode(datagram, asn1Spec=module.Message())
        if rest:
            raise Malformed(f"{len(rest)} bytes after the message")
        community = bytes(module.apiMessage.get_community(message))
        pdu = module.apiMessage.get_pdu(message)
    except (PyAsn1Error, ProtocolError) as exc:
        raise Malformed(str(exc) or type(exc).__name__) from None
    if not pdu.isSameTypeWith(module.TrapPDU()):
        raise NotATrap(type(pdu).__name__)
    return VERSIONS[number], community.decode("utf-8", "backslashreplace"), pdu


def event(source: str, version: str, community: str, pdu: Any) -> dict:
    """The event of a decoded trap PDU (see the module docstring); raises ``Malformed`` when the PDU
    lacks what its version requires."""
    try:
        if version == "1":
            trap = api.v1.apiTrapPDU
            enterprise = tuple(trap.get_enterprise(pdu))
            generic, specific = int(trap.get_generic_trap(pdu)), int(trap.get_specific_trap(pdu))
            trap_oid = enterprise + (0, specific) if generic == 6 else SNMP_TRAPS + (generic + 1,)
            uptime = int(trap.get_timestamp(pdu))
            variables = [_variable(oid, value) for oid, value in trap.get_varbinds(pdu)]
            variables.append({"oid": _dotted(SNMP_TRAP_ADDRESS), "type": "IpAddress",
                              "value": trap.get_agent_address(pdu).prettyPrint()})
            variables.append({"oid": _dotted(SNMP_TRAP_ENTERPRISE), "type": "ObjectIdentifier",
                              "value": _dotted(enterprise)})
        else:
            bindings = list(api.v2c.apiTrapPDU.get_varbinds(pdu))
            if len(bindings) < 2 or tuple(bindings[0][0]) != SYS_UPTIME or tuple(bindings[1][0]) != SNMP_TRAP_OID:
                raise Malformed("a v2c trap must start with sysUpTime.0 and snmpTrapOID.0")
            uptime, trap_oid = int(bindings[0][1]), tuple(bindings[1][1])
            variables = [_variable(oid, value) for oid, value in bindings[2:]]
    except (PyAsn1Error, ProtocolError, TypeError, ValueError) as exc:
        if isinstance(exc, Malformed):
            raise
        raise Malformed(str(exc) or type(exc).__name__) from None
    return {"source": source, "version": version, "community": community, "trapOID": _dotted(trap_oid),
            "uptime": uptime, "variables": variables}


def _dotted(oid) -> str:
    return ".".join(str(part) for part in tuple(oid))


def _variable(oid, value) -> dict:
    kind = type(value).__name__
    kind = {"Integer": "Integer32"}.get(kind, kind)
    found: dict[str, Any] = {"oid": _dotted(oid), "type": _EXCEPTIONS.get(kind, kind)}
    if kind in _NUMBERS:
        found["value"] = int(value)
    elif kind == "ObjectIdentifier":
        found["value"] = _dotted(value)
    elif kind == "IpAddress":
        found["value"] = value.prettyPrint()
    elif kind == "OctetString":
        raw = bytes(value)
        text = _text(raw)
        found["value"] = text if text is not None else raw.hex()
        if text is None:
            found["hex"] = True
    elif kind in _BINARY:
        found["value"], found["hex"] = bytes(value).hex(), True
    else:  # Null and the v2 exceptions carry no value
        found["value"] = None
    return found


def _text(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 32 and c not in "\t\r\n" or ord(c) == 127 for c in text):
        return None
    return text

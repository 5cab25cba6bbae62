"""BER encoding of SNMP varbinds, so a GETBULK answer can be joined bytes.

Encoding with pyasn1 objects cost most of a table walk's time; values that have not changed
keep their encoded bytes (see snmp_store.OidStore). Integers use the shortest X.690 form.
"""

from __future__ import annotations

from typing import Any

from pyasn1.codec.ber.encoder import encode as ber_encode
from pysnmp.proto import rfc1902
from pysnmp.proto.api import v2c

from protocols.scada import snmp_oids as so

OID = tuple[int, ...]
_ALL_COLUMN_OIDS = frozenset(c.oid for c in so.ALL_COLUMNS) | frozenset(c.oid for c in so.UPS_BATTERY)


# ------------------------------------------------------------------------------------------
# BER: the wire bytes of one varbind, so a GETBULK answer is joined bytes, not pyasn1 objects.
# ------------------------------------------------------------------------------------------

_BER_TAG = {"Integer32": 0x02, "Unsigned32": 0x42, "OctetString": 0x04}  # Unsigned32 = [APPLICATION 2] Gauge32
_BER_RANGE = {"Integer32": (-(2**31), 2**31 - 1), "Unsigned32": (0, 2**32 - 1)}


def ber_length(n: int) -> bytes:
    """Definite-length octets: short form below 128, long form above."""
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _base128(arc: int) -> bytes:
    if arc < 0x80:
        return bytes((arc,))
    out = [arc & 0x7F]
    arc >>= 7
    while arc:
        out.append(0x80 | (arc & 0x7F))
        arc >>= 7
    return bytes(reversed(out))


def ber_oid_body(oid: OID) -> bytes:
    """OBJECT IDENTIFIER contents (the first two arcs share one sub-identifier, X.690 8.19)."""
    if len(oid) < 2 or oid[0] > 2 or (oid[0] < 2 and oid[1] > 39) or min(oid) < 0:
        raise ValueError(f"SNMP: {oid!r} is not a valid object identifier")
    return _base128(40 * oid[0] + oid[1]) + b"".join(_base128(arc) for arc in oid[2:])


def ber_oid(oid: OID) -> bytes:
    """OBJECT IDENTIFIER TLV."""
    body = ber_oid_body(oid)
    return b"\x06" + ber_length(len(body)) + body


def ber_value(wire_type: str, value: int | str) -> bytes:
    """Value TLV of an Integer32, Unsigned32 (Gauge32) or OctetString, checked against its range.

    Integers take the fewest octets (X.690 8.3.2); pyasn1 adds a 0xff before -128, -32768 ...,
    which decoders read as the same number.
    """
    tag = _BER_TAG[wire_type]
    if wire_type == "OctetString":
        body = rfc1902.OctetString(value).asOctets()  # the text encoding pysnmp uses on the GET path
    else:
        low, high = _BER_RANGE[wire_type]
        if not isinstance(value, int):
            raise TypeError(f"SNMP: {wire_type} value {value!r} is not an integer")
        if not low <= value <= high:
            raise ValueError(f"SNMP: {value!r} is out of the {wire_type} range {low}..{high}")
        body = value.to_bytes(((value if value >= 0 else ~value).bit_length() // 8) + 1, "big", signed=True)
    return bytes((tag,)) + ber_length(len(body)) + body


def ber_varbind(oid_tlv: bytes, value_tlv: bytes) -> bytes:
    """VarBind ::= SEQUENCE { name ObjectName, value ObjectSyntax } (RFC 3416)."""
    inner = oid_tlv + value_tlv
    return b"\x30" + ber_length(len(inner)) + inner


def encode_varbind(var_bind: tuple[Any, Any]) -> bytes:
    """BER of a varbind pysnmp produced (its own MIB objects, noSuchObject, endOfMibView ...)."""
    return bytes(ber_encode(v2c.apiVarBind.set_oid_value(v2c.VarBind(), var_bind)))


def column_of(oid: OID) -> OID:
    """The column (or scalar) object an instance belongs to: the unit VACM decisions are cached for."""
    for cut in (1, 2):
        if oid[:-cut] in _ALL_COLUMN_OIDS:
            return oid[:-cut]
    return oid

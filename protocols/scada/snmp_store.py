"""The agent's OID store and the pysnmp controller and bulk responder that serve it.

A sorted list of instance OIDs with bisect instead of one pysnmp object per value: 3,840 cells
x 7 columns as objects cost 190-235 us per varbind and 62 MB (PROTOCOLS.md section 3).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pyasn1.type import univ
from pysnmp.entity import engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.proto.api import v2c
from pysnmp.smi import error as smi_error
from pysnmp.smi import instrum

from protocols.scada.snmp_ber import (
    _ALL_COLUMN_OIDS,
    OID,
    _base128,
    ber_length,
    ber_oid_body,
    ber_value,
    ber_varbind,
    column_of,
    encode_varbind,
)

VALUE_PROTOTYPES: dict[str, Any] = {
    "Integer32": rfc1902.Integer32(),
    "Unsigned32": rfc1902.Unsigned32(),
    "OctetString": rfc1902.OctetString(),
}


# ------------------------------------------------------------------------------------------
# The OID store and the controller that serves it.
# ------------------------------------------------------------------------------------------


class OidStore:
    """Sorted instance OIDs under some prefixes, with plain values (None = absent).

    What a request needs is built from a value once and kept until the value changes: the
    pysnmp object for GET/GETNEXT and the encoded varbind for GETBULK. Building them again for
    every varbind of every walk was most of the agent's time (pyasn1 clone, constraint checks).
    """

    def __init__(self, prefixes: Sequence[OID]) -> None:
        self.prefixes = tuple(prefixes)
        self._oids: list[OID] = []
        self._values: dict[OID, Any] = {}
        self._types: dict[OID, str] = {}
        self._objects: dict[OID, Any] = {}  # OID -> pysnmp value object, while the value holds
        self._wire: dict[OID, bytes] = {}  # OID -> BER varbind, while the value holds
        self._oid_tlv: dict[OID, bytes] = {}  # OID -> BER name, for ever
        self._parent_body: dict[OID, bytes] = {}  # OID minus its last arc -> its BER contents
        # Called at the start of every request, so values held back until asked for are current.
        self.before_read: Callable[[], None] | None = None

    def refresh(self) -> None:
        if self.before_read is not None:
            self.before_read()

    def define(self, oid: OID, wire_type: str, value: Any = None) -> None:
        if wire_type not in VALUE_PROTOTYPES:
            raise ValueError(
                f"SNMP {oid!r}: unknown wire type {wire_type!r}, expected one of {sorted(VALUE_PROTOTYPES)}"
            )
        if oid not in self._types:
            bisect.insort(self._oids, oid)
        self._types[oid] = wire_type
        self._values[oid] = value
        self._objects.pop(oid, None)
        self._wire.pop(oid, None)

    def remove(self, oid: OID) -> None:
        if oid in self._types:
            i = bisect.bisect_left(self._oids, oid)
            del self._oids[i]
            del self._types[oid]
            del self._values[oid]
            self._objects.pop(oid, None)
            self._wire.pop(oid, None)
            self._oid_tlv.pop(oid, None)

    def set(self, oid: OID, value: Any) -> None:
        try:
            old = self._values[oid]
        except KeyError:
            raise KeyError(f"SNMP store: {oid!r} was never defined") from None
        if old != value or type(old) is not type(value):
            self._values[oid] = value
            self._objects.pop(oid, None)
            self._wire.pop(oid, None)

    def prefix_of(self, oid: OID) -> OID | None:
        for p in self.prefixes:
            if oid[: len(p)] == p:
                return p
        return None

    def value_object(self, oid: OID) -> Any:
        """The pysnmp value of a present instance, built once per value."""
        obj = self._objects.get(oid)
        if obj is None:
            obj = self._objects[oid] = VALUE_PROTOTYPES[self._types[oid]].clone(self._values[oid])
        return obj

    def syntax(self, oid: OID) -> Any:
        wire_type = self._types.get(oid)
        if wire_type is None:
            return rfc1905.noSuchInstance if oid[:-1] in _ALL_COLUMN_OIDS else rfc1905.noSuchObject
        return rfc1905.noSuchInstance if self._values[oid] is None else self.value_object(oid)

    def next_present(self, oid: OID) -> OID | None:
        """The first instance after `oid` that has a value."""
        oids, values = self._oids, self._values
        i = bisect.bisect_right(oids, oid)
        while i < len(oids):
            if values[oids[i]] is not None:
                return oids[i]
            i += 1
        return None

    def present_after(self, oid: OID) -> Iterator[OID]:
        """The instances after `oid` that have a value, in order (do not change the store meanwhile)."""
        oids, values = self._oids, self._values
        for i in range(bisect.bisect_right(oids, oid), len(oids)):
            if values[oids[i]] is not None:
                yield oids[i]

    def next_after(self, oid: OID) -> tuple[OID, Any] | None:
        nxt = self.next_present(oid)
        return None if nxt is None else (nxt, self.value_object(nxt))

    def wire(self, oid: OID) -> bytes:
        """The BER varbind of a present instance, built once per value."""
        wire = self._wire.get(oid)
        if wire is None:
            name = self._oid_tlv.get(oid)
            if name is None:
                name = self._oid_tlv[oid] = self._name_tlv(oid)
            try:
                value = ber_value(self._types[oid], self._values[oid])
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"SNMP {'.'.join(map(str, oid))}: {exc}") from exc
            wire = self._wire[oid] = ber_varbind(name, value)
        return wire

    def _name_tlv(self, oid: OID) -> bytes:
        """ber_oid(oid), with the contents of the parent (column, or column + string) encoded once."""
        parent = oid[:-1]
        head = self._parent_body.get(parent)
        if head is None:
            head = self._parent_body[parent] = ber_oid_body(parent)
        if oid[-1] < 0:
            raise ValueError(f"SNMP: {oid!r} is not a valid object identifier")
        body = head + _base128(oid[-1])
        return b"\x06" + ber_length(len(body)) + body


_PAST_EVERY_ARC = 2**32  # sub-identifiers are at most 2**32 - 1: column + (this,) sorts after the column


def _inside(oid: OID, subtree: OID) -> bool:
    return oid[: len(subtree)] == subtree


class SubtreeController(instrum.MibInstrumController):
    """Serves an OidStore's subtrees, and pysnmp's own objects in `engine_subtrees` (the system
    group) through pysnmp's controller; nothing else of pysnmp's is ever read.

    GETNEXT asks VACM once per column (the `in_view` dict lives for one request): every view
    this agent configures (`protocols/scada/snmp_access.py`) is a whole subtree at or above our columns,
    so one instance answers for its column. An excluded column is skipped as a whole.

    Why pysnmp's controller is asked only inside `engine_subtrees`: its GETNEXT skips what is out
    of view one object at a time, through its whole USM/VACM/engine MIBs, about 50 ms per step;
    a GETBULK past the end of our subtrees took 3 s. Bounded, it stops at the subtree's end.
    """

    def __init__(
        self,
        mib_builder: Any,
        store: OidStore,
        fallback: instrum.MibInstrumController,
        engine_subtrees: Sequence[OID] = (),
    ) -> None:
        super().__init__(mib_builder)
        self.store = store
        self.fallback = fallback
        self.engine_subtrees = tuple(sorted(engine_subtrees))

    def read_variables(self, *var_binds: Any, **ctx: Any) -> list[Any]:
        self.store.refresh()
        out: list[Any] = []
        for idx, (name, value) in enumerate(var_binds):
            ctx["idx"] = idx
            # True: not in the caller's view. Answered here for pysnmp's objects too: its own
            # controller fails the whole request with noAccess, RFC 3416 says noSuchObject.
            if ctx["acFun"]("read", (name, None), **ctx):
                out.append((name, rfc1905.noSuchObject))
                continue
            oid = tuple(name)
            if self.store.prefix_of(oid) is not None:
                out.append((name, self.store.syntax(oid)))
            elif any(_inside(oid, subtree) for subtree in self.engine_subtrees):
                out.extend(self.fallback.read_variables((name, value), **ctx))
            else:
                out.append((name, rfc1905.noSuchObject))
        return out

    def read_next_variables(self, *var_binds: Any, **ctx: Any) -> list[Any]:
        self.store.refresh()
        in_view: dict[OID, bool] = {}
        out: list[Any] = []
        for idx, (name, value) in enumerate(var_binds):
            ctx["idx"] = idx
            mine, theirs = self.next_step(name, value, in_view, ctx)
            out.append(theirs if mine is None else (rfc1902.ObjectName(mine), self.store.value_object(mine)))
        return out

    def read_next_wire(self, name: Any, value: Any, in_view: dict[OID, bool], ctx: dict[str, Any]) -> tuple[Any, bytes]:
        """GETNEXT of one name as (next name, BER varbind), for the GETBULK responder."""
        mine, theirs = self.next_step(name, value, in_view, ctx)
        if mine is None:
            return theirs[0], encode_varbind(theirs)
        return mine, self.store.wire(mine)

    def read_next_run(
        self, name: Any, value: Any, count: int, in_view: dict[OID, bool], ctx: dict[str, Any]
    ) -> list[tuple[Any, bytes]]:
        """`count` successive GETNEXTs from `name`, as (name, BER varbind): a GETBULK with one
        repeated varbind, which is what table walks send. Inside our subtree this is one pass
        over the sorted store instead of a bisect per step."""
        out: list[tuple[Any, bytes]] = []
        oid = tuple(name)
        prefix = self.store.prefix_of(oid)
        if prefix is not None and count > 0:
            wire, n = self.store.wire, len(prefix)
            column: OID = ()
            allowed = False
            for nxt in self.store.present_after(oid):
                if nxt[:n] != prefix:
                    break
                if not column or nxt[: len(column)] != column:
                    column = column_of(nxt)
                    known = in_view.get(column)
                    if known is None:
                        known = in_view[column] = not ctx["acFun"]("read", (rfc1902.ObjectName(nxt), None), **ctx)
                    allowed = known
                if allowed:
                    out.append((nxt, wire(nxt)))
                    if len(out) == count:
                        break
        while len(out) < count:  # past the end of our subtree, or a name outside it
            out.append(self.read_next_wire(out[-1][0] if out else name, value, in_view, ctx))
        return out

    def next_step(
        self, name: Any, value: Any, in_view: dict[OID, bool], ctx: dict[str, Any]
    ) -> tuple[OID, None] | tuple[None, tuple[Any, Any]]:
        """What GETNEXT answers: (our instance, None) or (None, pysnmp's varbind)."""
        oid = tuple(name)
        mine = self._next_in_view(oid, in_view, ctx)
        prefix = self.store.prefix_of(oid)
        if mine is not None and prefix is not None and mine[: len(prefix)] == prefix:
            return mine, None  # nothing of pysnmp's lies inside our subtrees
        theirs = self._engine_next(oid, value, ctx)
        if mine is not None and (theirs is None or tuple(theirs[0]) > mine):
            return mine, None
        return None, theirs if theirs is not None else (rfc1902.ObjectName(oid), rfc1905.endOfMibView)

    def _engine_next(self, oid: OID, value: Any, ctx: dict[str, Any]) -> tuple[Any, Any] | None:
        """GETNEXT among pysnmp's own objects inside `engine_subtrees`, in view: (name, value) or None."""
        ac_fun = ctx["acFun"]
        for subtree in self.engine_subtrees:
            if oid >= subtree + (_PAST_EVERY_ARC,):
                continue  # past this subtree

            def in_subtree_only(view_type: str, var_bind: Any, _subtree: OID = subtree, **c: Any) -> bool:
                # False ("readable") past the subtree: pysnmp stops there, and the answer is dropped below.
                return ac_fun(view_type, var_bind, **c) if _inside(tuple(var_bind[0]), _subtree) else False

            start = rfc1902.ObjectName(max(oid, subtree))
            name, found = self.fallback.read_next_variables((start, value), **{**ctx, "acFun": in_subtree_only})[0]
            if _inside(tuple(name), subtree) and not isinstance(found, rfc1905.EndOfMibView):
                return name, found
        return None

    def _next_in_view(self, oid: OID, in_view: dict[OID, bool], ctx: dict[str, Any]) -> OID | None:
        store = self.store
        while (nxt := store.next_present(oid)) is not None:
            column = column_of(nxt)
            allowed = in_view.get(column)
            if allowed is None:
                allowed = in_view[column] = not ctx["acFun"]("read", (rfc1902.ObjectName(nxt), None), **ctx)
            if allowed:
                return nxt
            oid = column + (_PAST_EVERY_ARC,)
        return None


class SubtreeBulkResponder(cmdrsp.BulkCommandResponder):
    """GETBULK answered with ready-made varbind bytes, joined into the response as one blob.

    pysnmp's own responder turns each of the 64 varbinds of a response into pyasn1 objects,
    checks VACM for each and BER-encodes them again: ~200 us per varbind, a 3,840-cell table
    walk took 5-7 s. Here a walk's repetitions are one pass over the sorted store picking up
    cached `bytes`, VACM is asked once per column per request, and the joined bytes go into the response PDU
    as an untagged ASN.1 ANY, which the BER encoder copies as it is. Message size limits,
    community/USM and the v3 security stay pysnmp's (`send_pdu`).
    """

    def __init__(self, snmp_engine: engine.SnmpEngine, snmp_context: context.SnmpContext) -> None:
        super().__init__(snmp_engine, snmp_context)
        self._encoded: dict[Any, bytes] = {}  # stateReference -> varbinds of the response being sent

    def handle_management_operation(self, snmpEngine: Any, stateReference: Any, contextName: Any, PDU: Any) -> None:
        controller = self.snmpContext.get_mib_instrum(contextName)
        if not isinstance(controller, SubtreeController):
            super().handle_management_operation(snmpEngine, stateReference, contextName, PDU)
            return
        controller.store.refresh()
        request = v2c.apiPDU.get_varbinds(PDU)
        non_repeaters, repetitions = bulk_shape(
            int(v2c.apiBulkPDU.get_non_repeaters(PDU)),
            int(v2c.apiBulkPDU.get_max_repetitions(PDU)),
            len(request),
            self.max_varbinds,
        )
        ctx = {"snmpEngine": snmpEngine, "acFun": self.verify_access, "cbCtx": self.cbCtx}
        in_view: dict[OID, bool] = {}
        chunks: list[bytes] = []
        for idx, (name, value) in enumerate(request[:non_repeaters]):
            ctx["idx"] = idx
            chunks.append(controller.read_next_wire(name, value, in_view, ctx)[1])
        repeaters = request[non_repeaters:]
        if len(repeaters) == 1:  # a table walk
            ctx["idx"] = non_repeaters
            chunks.extend(wire for _, wire in controller.read_next_run(*repeaters[0], repetitions, in_view, ctx))
        elif repeaters:
            for _ in range(repetitions):
                for j, (name, value) in enumerate(repeaters):
                    ctx["idx"] = non_repeaters + j
                    name, wire = controller.read_next_wire(name, value, in_view, ctx)
                    repeaters[j] = (name, value)
                    chunks.append(wire)
        if not chunks:
            raise smi_error.SmiError()  # as pysnmp: nothing to answer is a genErr
        self._encoded[stateReference] = b"".join(chunks)
        try:
            self.send_varbinds(snmpEngine, stateReference, 0, 0, [])
        finally:
            self._encoded.pop(stateReference, None)
        self.release_state_information(stateReference)

    def send_pdu(self, snmpEngine: Any, stateReference: Any, PDU: Any) -> None:
        encoded = self._encoded.pop(stateReference, None)
        if encoded is not None:
            v2c.apiPDU.get_varbind_list(PDU).setComponentByPosition(
                0, univ.Any(encoded), verifyConstraints=False, matchTags=False, matchConstraints=False
            )
        super().send_pdu(snmpEngine, stateReference, PDU)


def bulk_shape(non_repeaters: int, max_repetitions: int, varbinds: int, max_varbinds: int) -> tuple[int, int]:
    """(N, M) of RFC 3416 4.2.3, with M capped so a response holds at most `max_varbinds`, as pysnmp does."""
    n = min(max(non_repeaters, 0), varbinds)
    m = max(max_repetitions, 0)
    r = varbinds - n
    if r:
        m = min(m, max_varbinds // r)
    return n, m

"""Packing of samples into bytes: scaled integers, byte planes, time deltas, zlib.

Everything here is a pure function on bytes so that it can be tested alone and driven by the
benchmark without SQLite or actors.

Why these tricks: the gateway has no numpy, and a day of one site is 166 million values.
Per-value Python loops would take minutes per day, so every transform below runs in C:

- *byte planes* ("shuffle"): the n little-endian int32 lanes are rewritten as all first bytes,
  then all second bytes, ...; the high bytes of slowly varying readings are runs that zlib
  squeezes to almost nothing. Done with extended slicing.
- *time deltas*: a cell's series of n lanes is read as one big integer X = sum(v_i * 2^(32 i))
  and encoded as D = X - (X << 32) + C (mod 2^(32 n)), which makes lane i equal to
  v_i - v_(i-1) + 128. For a change of less than 128 steps the three high bytes of a lane
  are zero. Decoding is a prefix sum done by doubling (log2 n big-integer shifts and adds).
  The map is a bijection for any input, so a big jump only costs compression, never data.
"""

from __future__ import annotations

import zlib
from array import array
from functools import lru_cache

LANE_BYTES = 4  # every quantity is carried as int32 ('i'), whatever its range
_LANE_BITS = 8 * LANE_BYTES
_DELTA_BIAS = 128  # added to every difference so that small negative steps stay in the low byte


def to_lanes(values: tuple[int, ...] | list[int] | array) -> bytes:
    """int32 little-endian bytes of `values` (raises OverflowError naming nothing: callers wrap)."""
    a = values if isinstance(values, array) and values.typecode == "i" else array("i", values)
    return a.tobytes()


def from_lanes(data: bytes) -> array:
    out = array("i")
    out.frombytes(data)
    return out


def shuffle(data: bytes, width: int = LANE_BYTES) -> bytes:
    """Byte planes: every lane's byte 0, then every lane's byte 1, ..."""
    if len(data) % width:
        raise ValueError(f"shuffle: {len(data)} bytes is not a multiple of the lane width {width}")
    return b"".join(data[k::width] for k in range(width))


def unshuffle(data: bytes, width: int = LANE_BYTES) -> bytes:
    if len(data) % width:
        raise ValueError(f"unshuffle: {len(data)} bytes is not a multiple of the lane width {width}")
    n = len(data) // width
    out = bytearray(len(data))
    for k in range(width):
        out[k::width] = data[k * n : (k + 1) * n]
    return bytes(out)


@lru_cache(maxsize=64)
def _bias(n: int, width: int) -> int:
    """The constant whose every lane is _DELTA_BIAS."""
    return int.from_bytes(bytes([_DELTA_BIAS] + [0] * (width - 1)) * n, "little")


def delta_encode(data: bytes, width: int = LANE_BYTES) -> bytes:
    """Lane i becomes lane_i - lane_(i-1) + 128 (lane -1 is 0), all modulo 2^(8*width*n)."""
    n, rest = divmod(len(data), width)
    if rest:
        raise ValueError(f"delta_encode: {len(data)} bytes is not a multiple of {width}")
    if n == 0:
        return b""
    bits = 8 * width
    mask = (1 << (bits * n)) - 1
    x = int.from_bytes(data, "little")
    d = (x - (x << bits) + _bias(n, width)) & mask
    return d.to_bytes(len(data), "little")


def delta_decode(data: bytes, width: int = LANE_BYTES) -> bytes:
    """Inverse of delta_encode: a prefix sum over lanes, by doubling the shift."""
    n, rest = divmod(len(data), width)
    if rest:
        raise ValueError(f"delta_decode: {len(data)} bytes is not a multiple of {width}")
    if n == 0:
        return b""
    bits = 8 * width
    total = bits * n
    mask = (1 << total) - 1
    x = (int.from_bytes(data, "little") - _bias(n, width)) & mask
    shift = bits
    while shift < total:
        x = (x + (x << shift)) & mask
        shift *= 2
    return x.to_bytes(len(data), "little")


def pack_series(columns: list[bytes], level: int = 9) -> bytes:
    """Several int32 series of equal length -> one compressed blob (time deltas + byte planes)."""
    body = b"".join(shuffle(delta_encode(c)) for c in columns)
    return zlib.compress(body, level)


def unpack_series(blob: bytes, count: int, only: tuple[int, ...] | None = None) -> list[bytes]:
    """Inverse of pack_series for `count` columns; the int32 lane bytes of each.

    With `only`, just those columns are decoded (the others come back as b""): a plot of one
    quantity does not pay for the other six.
    """
    body = zlib.decompress(blob)
    if count <= 0 or len(body) % (count * LANE_BYTES):
        raise ValueError(f"unpack_series: {len(body)} bytes do not split into {count} int32 columns")
    size = len(body) // count
    return [
        delta_decode(unshuffle(body[i * size : (i + 1) * size])) if only is None or i in only else b""
        for i in range(count)
    ]


def pack_planes(columns: list[bytes], level: int = 1) -> bytes:
    """Several int32 columns -> one compressed blob, byte planes only (no time deltas): hot rows."""
    return zlib.compress(b"".join(shuffle(c) for c in columns), level)


def unpack_planes(blob: bytes, sizes: list[int]) -> list[bytes]:
    """Inverse of pack_planes; `sizes` are the lane counts of the columns."""
    return split_planes(zlib.decompress(blob), sizes)


def split_planes(body: bytes, sizes: list[int]) -> list[bytes]:
    """The int32 lane bytes of each column of a decompressed pack_planes body."""
    if sum(sizes) * LANE_BYTES != len(body):
        raise ValueError(f"split_planes: {len(body)} bytes, expected {sum(sizes) * LANE_BYTES}")
    out, pos = [], 0
    for n in sizes:
        out.append(unshuffle(body[pos : pos + n * LANE_BYTES]))
        pos += n * LANE_BYTES
    return out

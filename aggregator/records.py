"""What the GatewayProxy hands the store: one record per device and scan time (frozen, picklable)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Record:
    """One device's values at one scan time, as one Sparkplug data message carried them."""

    edge_node: str
    device: str  # '' for the edge node's own metrics
    ts_ms: int  # UNIX milliseconds of the scan
    numeric_names: tuple[str, ...]
    nums: tuple[float | None, ...]
    text_names: tuple[str, ...]
    texts: tuple[str | None, ...]

    def __repr__(self) -> str:
        return f"Record({self.edge_node}/{self.device or '-'} @{self.ts_ms}, {len(self.nums) + len(self.texts)} values)"

"""The site as an installer describes it in topology.yaml, as typed, immutable values.

Every actor receives the part of this model it needs in its Init message, so the model must
stay picklable (plain frozen dataclasses and tuples) and never hold open resources.
The loader (`topology.loader`) is the only code that builds these objects; it has
already checked every range and cross-reference, so consumers may trust them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from battery.redacted import secrets_masked

# Hardware limits from the product documents (seed 000, 003).
MAX_STRINGS_PER_GATEWAY = 32
MAX_UPSES_PER_GATEWAY = 32
MAX_BATTERIES_PER_STRING = 120
MAX_IO_MODULES = 4
IOS_PER_MODULE = 8
NOMINAL_BATTERY_VOLTAGES = (2, 6, 12)


@dataclass(frozen=True)
class BatteryType:
    """The batteries of one string: all of the same type, wired in series."""

    nominal_voltage: int  # 2, 6 or 12 V
    capacity_ah: float
    count: int  # 1..120 (one BM-CS cell sensor each)


@dataclass(frozen=True)
class BusConfig:
    """One RS-485 field bus (or the in-process simulator) and how to poll it."""

    id: str
    port: str  # "/dev/ttyUSB0", a pty path, "socket://host:port" or "sim://name"
    baudrate: int = 115200
    parity: str = "N"  # "N", "E" or "O"
    stopbits: int = 1
    timeout_s: float = 0.2
    scan_period_s: float = 1.0  # minimum time between the starts of two scans
    miss_limit: int = 3  # consecutive unanswered polls before "communication lost"

    @property
    def is_simulated(self) -> bool:
        return self.port.startswith("sim://")


@dataclass(frozen=True)
class StringConfig:
    """One battery string with its BM-SS string master, BM-HS hall sensor and options."""

    id: str
    index: int  # 1..32, unique in the gateway; Modbus unit id of the string is 100 + index
    name: str
    ups_id: str
    bus: str  # BusConfig.id
    address: int  # Modbus RTU address of the string master on its bus, 1..247
    battery: BatteryType
    hall_range_a: int  # full scale of the hall sensor, A
    climate_sensor: bool  # has a BM-TH temperature/humidity sensor
    insulation_sensor: bool = False  # has a BM-GS insulation sensor
    # Per-string alarm limit overrides, name -> value (validated names; see docs/topology.md).
    alarm_overrides: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class UpsConfig:
    id: str
    index: int  # 1..32; Modbus unit id of the UPS
    name: str
    strings: tuple[StringConfig, ...]


@dataclass(frozen=True)
class IoModuleConfig:
    """A BM-LC IO module behind the master controller: 8 digital inputs and 8 relay outputs."""

    id: str
    address: int  # Modbus RTU address on the master controller's bus


@dataclass(frozen=True)
class OutputConfig:
    """What one relay output of an IO module does."""

    module: str  # IoModuleConfig.id
    output: int  # 1..8
    function: str  # "disconnect" (opens a string's breaker) or "siren" (warning light/siren)
    string: str | None = None  # StringConfig.id, required for "disconnect"


@dataclass(frozen=True)
class InputConfig:
    """A digital input of an IO module that raises an alarm when it is on (leakage, fire, ...)."""

    module: str
    input: int  # 1..8
    alarm: str  # the alarm's name as operators see it, e.g. "leakage"
    string: str | None = None  # the string it concerns, if any


@dataclass(frozen=True)
class MasterControllerConfig:
    """The BM-MC: one per gateway, carries up to 4 BM-LC IO modules."""

    bus: str
    address: int
    io_modules: tuple[IoModuleConfig, ...] = ()
    outputs: tuple[OutputConfig, ...] = ()
    inputs: tuple[InputConfig, ...] = ()


@dataclass(frozen=True)
class WebConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8080
    tls_cert: str | None = None  # PEM paths; both set = HTTPS
    tls_key: str | None = None
    session_idle_min: int = 30  # a browser session ends after this long without a request
    kiosk_clients: tuple[str, ...] = ()  # addresses that see the kiosk page without logging in
    metrics_cells: bool = False  # /metrics serves every battery's 5 quantities too (many series)


@dataclass(frozen=True)
class ModbusTcpConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 5020
    write_enabled: bool = False  # writes (commands) are refused unless this is true ...
    write_clients: tuple[str, ...] = ()  # ... and the client's IP address is listed here
    max_connections: int = 32  # when full, the longest idle connection is closed to admit a new one
    idle_timeout_s: float = 60.0  # a connection with no request for this long is closed


@secrets_masked("auth_key", "priv_key")  # Thespian logs the repr of a message whose handler fails
@dataclass(frozen=True)
class SnmpV3UserConfig:
    """An SNMPv3 USM user with authPriv; the protocols by net-snmp's names (`-a`, `-x`)."""

    name: str
    auth_key: str  # passphrase, at least 8 characters
    priv_key: str
    auth_protocol: str = "SHA"  # HMAC-SHA-96; or SHA-224 ... SHA-512 (RFC 7860)
    priv_protocol: str = "AES"  # AES-128 (RFC 3826); or AES-192, AES-256


@secrets_masked("read_community", "trap_community")
@dataclass(frozen=True)
class SnmpConfig:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 1161
    read_community: str | None = None  # no default: v2c is off unless set
    trap_receivers: tuple[str, ...] = ()  # "host:port"
    trap_community: str | None = None  # of v2c notifications (default: read_community)
    notify_type: str = "trap"  # "trap" (fire and forget) or "inform" (acknowledged, retried)
    v3_users: tuple[SnmpV3UserConfig, ...] = ()


@secrets_masked("password")
@dataclass(frozen=True)
class UplinkConfig:
    """The MQTT Sparkplug B link to the aggregator (docs/uplink.md); absent = no uplink."""

    broker: str  # "host:port" of the MQTT broker
    group_id: str  # Sparkplug group: the site the aggregator joins
    edge_node_id: str | None = None  # None: the gateway id
    primary_host_id: str | None = None  # set: publish nothing live until this host's STATE says online
    tls_ca: str | None = None  # PEM path; set = TLS, and the broker's certificate is verified against it
    tls_cert: str | None = None  # client certificate and key (PEM paths), with tls_ca
    tls_key: str | None = None
    username: str | None = None
    password: str | None = None  # None: the secret "uplink.password" (btms secret set uplink.password)
    data_period_s: float = 10.0  # string and UPS data: one record per string/UPS per period
    # Cells are sent by exception: a cell value goes out when it moved this much (registry unit)
    # since it was last sent; keys are registry keys of cell quantities.
    deadbands: tuple[tuple[str, float], ...] = ()
    outbox_max_mb: float = 64.0  # the outbox's size on disk; over it, oldest cell data goes first
    keepalive_s: int = 30  # MQTT keep-alive: the broker declares the gateway dead after 1.5 x this

    def edge_node(self, gateway_id: str) -> str:
        return self.edge_node_id or gateway_id


@dataclass(frozen=True)
class ServicesConfig:
    web: WebConfig = field(default_factory=WebConfig)
    modbus: ModbusTcpConfig = field(default_factory=ModbusTcpConfig)
    snmp: SnmpConfig = field(default_factory=SnmpConfig)
    uplink: UplinkConfig | None = None


@dataclass(frozen=True)
class StorageConfig:
    path: str = "var"  # directory of the databases, relative to the topology file's folder
    retention_days: int = 365
    min_free_mb: int = 1024  # under this, oldest history goes first and "Storage space low" is raised
    # Samples are committed in batches: a power cut loses at most this much; shorter wears the SSD.
    commit_interval_s: float = 60.0
    # A file of this size the alarm store deletes to go on writing alarms when the disk is full.
    alarm_reserve_mb: int = 4


@dataclass(frozen=True)
class GatewayConfig:
    id: str
    name: str
    admin_port: int = 19500  # Thespian admin port, bound to loopback


@dataclass(frozen=True)
class Topology:
    gateway: GatewayConfig
    buses: tuple[BusConfig, ...]
    upses: tuple[UpsConfig, ...]
    master_controller: MasterControllerConfig | None = None
    services: ServicesConfig = field(default_factory=ServicesConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    source: str = ""  # the file it was loaded from (for messages and relative paths)

    @property
    def strings(self) -> tuple[StringConfig, ...]:
        return tuple(s for u in self.upses for s in u.strings)

    def string(self, string_id: str) -> StringConfig:
        for s in self.strings:
            if s.id == string_id:
                return s
        raise KeyError(string_id)

    def ups(self, ups_id: str) -> UpsConfig:
        for u in self.upses:
            if u.id == ups_id:
                return u
        raise KeyError(ups_id)

    def bus(self, bus_id: str) -> BusConfig:
        for b in self.buses:
            if b.id == bus_id:
                return b
        raise KeyError(bus_id)

    def storage_dir(self) -> Path:
        """The storage path, resolved against the topology file's folder when relative."""
        p = Path(self.storage.path)
        if p.is_absolute() or not self.source:
            return p
        return Path(self.source).resolve().parent / p

"""The aggregator's configuration file: broker, primary host, PostgreSQL, web server, Modbus view.

Read with the topology's YAML reader (topology/schema.py), so every problem names the file
and the line (`FILE:LINE: what is wrong`) and a bad file is refused before anything starts.
docs/aggregator.md lists the keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aggregator.modbus_config import ModbusViewConfig, read_modbus
from protocols.uplink.topics import id_problem
from topology.problems import ProblemLog, TopologyError
from topology.schema import Section
from topology.yaml_source import compose_file

TOP_KEYS = ("aggregator", "broker", "postgres", "web", "modbus")
AGGREGATOR_KEYS = ("host_id", "group_id", "admin_port", "offline_after_s", "storage")
BROKER_KEYS = ("host", "port", "tls_ca", "tls_cert", "tls_key", "username", "password_file", "keepalive_s")
POSTGRES_KEYS = ("dsn", "password_file")
WEB_KEYS = ("enabled", "host", "port", "tls_cert", "tls_key", "metrics_cells", "session_idle_min")


@dataclass(frozen=True)
class BrokerConfig:
    host: str
    port: int
    tls_ca: str | None  # a CA file: the connection is TLS and the broker's certificate is checked
    tls_cert: str | None
    tls_key: str | None
    username: str | None
    password: str | None  # read from password_file at load time; never in the file itself
    keepalive_s: int

    def __repr__(self) -> str:  # a password must not reach a log line
        return f"BrokerConfig({self.host}:{self.port}, tls={self.tls_ca is not None}, user={self.username!r})"


@dataclass(frozen=True)
class AggregatorWeb:
    enabled: bool
    host: str
    port: int
    tls_cert: str | None
    tls_key: str | None
    metrics_cells: bool
    session_idle_min: int = 30  # a browser session ends after this long without a request


@dataclass(frozen=True)
class AggregatorConfig:
    source: str
    host_id: str  # the primary host id: spBv1.0/STATE/<host_id>
    group_id: str  # the Sparkplug group whose edge nodes are aggregated
    admin_port: int
    offline_after_s: float
    storage: Path  # API tokens, users and sessions (settings.db), logs
    broker: BrokerConfig
    postgres_dsn: str
    postgres_password: str | None
    web: AggregatorWeb
    modbus: ModbusViewConfig | None = None  # the read-only Modbus TCP view (aggregator/modbus_config.py)

    def __repr__(self) -> str:
        return f"AggregatorConfig({self.source}, host_id={self.host_id!r}, group={self.group_id!r})"


def load_config(path: str | Path) -> AggregatorConfig:
    """Read and check the file; raise TopologyError listing every problem as FILE:LINE."""
    path = Path(path)
    log = ProblemLog(str(path))
    root = compose_file(path, log)
    if root is None:
        raise TopologyError(log.problems)
    top = Section(log, root, "", TOP_KEYS)
    base = path.resolve().parent
    a = top.section("aggregator", AGGREGATOR_KEYS)
    b = top.section("broker", BROKER_KEYS, required=True)
    p = top.section("postgres", POSTGRES_KEYS, required=True)
    w = top.section("web", WEB_KEYS)
    host_id = _sparkplug_id(a, "host_id", "btms-aggregator")
    group_id = _sparkplug_id(a, "group_id", "btms")
    config = AggregatorConfig(
        source=str(path.resolve()),
        host_id=host_id,  # type: ignore[arg-type]
        group_id=group_id,  # type: ignore[arg-type]
        admin_port=a.integer("admin_port", 19600, lo=1024, hi=65535),  # type: ignore[arg-type]
        offline_after_s=a.number("offline_after_s", 30.0, ge=1.0, le=3600.0, unit="s"),  # type: ignore[arg-type]
        storage=_path(base, a.text("storage", "var-aggregator")),  # type: ignore[arg-type]
        broker=BrokerConfig(
            host=b.text("host", "127.0.0.1"),  # type: ignore[arg-type]
            port=b.integer("port", 8883, lo=1, hi=65535),  # type: ignore[arg-type]
            tls_ca=_file(b, base, "tls_ca"),
            tls_cert=_file(b, base, "tls_cert"),
            tls_key=_file(b, base, "tls_key"),
            username=b.text("username", None),
            password=_secret(b, base, "password_file"),
            keepalive_s=b.integer("keepalive_s", 10, lo=2, hi=600),  # type: ignore[arg-type]
        ),
        postgres_dsn=p.text("dsn"),  # type: ignore[arg-type]
        postgres_password=_secret(p, base, "password_file"),
        web=AggregatorWeb(
            enabled=w.boolean("enabled", True),  # type: ignore[arg-type]
            host=w.text("host", "127.0.0.1"),  # type: ignore[arg-type]
            port=w.integer("port", 8090, lo=1, hi=65535),  # type: ignore[arg-type]
            tls_cert=_file(w, base, "tls_cert"),
            tls_key=_file(w, base, "tls_key"),
            metrics_cells=w.boolean("metrics_cells", False),  # type: ignore[arg-type]
            session_idle_min=w.integer("session_idle_min", 30, lo=1, hi=24 * 60),  # type: ignore[arg-type]
        ),
        modbus=read_modbus(top),
    )
    for s, one, other in ((b, "tls_cert", "tls_key"), (w, "tls_cert", "tls_key")):
        if s.has(one) != s.has(other):
            given, missing = (one, other) if s.has(one) else (other, one)
            s.problem(given, f"needs both {one} and {other}; {missing} is missing")
    if b.has("password_file") and not b.has("username"):
        b.problem("password_file", "a password needs a username")
    if config.postgres_dsn is not None and not config.postgres_dsn.startswith(("postgresql://", "postgres://")):
        p.problem("dsn", "must be a postgresql:// URL (postgresql://USER@HOST:PORT/DATABASE)")
    if log.problems:
        raise TopologyError(log.problems)
    return config


def _sparkplug_id(s: Section, key: str, default: str) -> str | None:
    value = s.text(key, default)
    problem = id_problem(value) if value is not None else None
    if problem:
        s.problem(key, f"{value!r} {problem}")
        return None
    return value


def _path(base: Path, text: str | None) -> Path | None:
    return None if text is None else (base / text)


def _file(s: Section, base: Path, key: str) -> str | None:
    """A file the aggregator reads at start: it must exist now (a typo is found before starting)."""
    text = s.text(key, None)
    if text is None:
        return None
    path = base / text
    if not path.is_file():
        s.problem(key, f"{path} is not a readable file")
        return None
    return str(path)


def _secret(s: Section, base: Path, key: str) -> str | None:
    """The first line of a file that holds a password (kept out of the configuration itself)."""
    name = _file(s, base, key)
    if name is None:
        return None
    try:
        text = Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        s.problem(key, f"{name} cannot be read: {error}")
        return None
    line = text.splitlines()[0].strip() if text.strip() else ""
    if not line:
        s.problem(key, f"{name} is empty")
        return None
    return line

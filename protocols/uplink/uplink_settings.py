"""`services.uplink` made usable: the broker's address, TLS, credentials and Sparkplug ids.

TLS: with `tls_ca` the link is TLS and the broker's certificate must chain to that CA and
name the broker's host; `tls_cert`/`tls_key` add a client certificate. Relative paths are
relative to the topology file's folder, as the storage path is. The password comes from the
topology or, when it leaves it out, from the secrets file (`btms secret set uplink.password`).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from battery.redacted import secrets_masked
from battery.site import Topology
from storage.secrets_file import UPLINK_PASSWORD, read_secrets, secrets_path


@secrets_masked("password")
@dataclass(frozen=True)
class UplinkSettings:
    host: str
    port: int
    group_id: str
    edge_node_id: str
    primary_host_id: str | None
    client_id: str
    keepalive_s: int
    tls: ssl.SSLContext | None
    username: str | None
    password: str | None

    @property
    def where(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def uplink_settings(topology: Topology) -> UplinkSettings:
    """Raises OSError (a certificate file missing or unusable) or ValueError (a bad secrets file)."""
    config = topology.services.uplink
    if config is None:
        raise ValueError("the topology has no services.uplink")
    host, _, port = config.broker.rpartition(":")
    host = host.strip("[]")
    base = Path(topology.source).resolve().parent if topology.source else Path.cwd()
    tls = None
    if config.tls_ca:
        ca = base / config.tls_ca
        try:
            tls = ssl.create_default_context(cafile=str(ca))
        except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
            raise OSError(f"services.uplink.tls_ca {ca}: {_reason(error)}") from None
        if config.tls_cert and config.tls_key:
            cert, key = base / config.tls_cert, base / config.tls_key
            try:
                tls.load_cert_chain(str(cert), str(key))
            except (OSError, ValueError) as error:
                raise OSError(f"services.uplink.tls_cert {cert} / tls_key {key}: {_reason(error)}") from None
    password = config.password
    if password is None and config.username is not None:
        password = read_secrets(secrets_path(topology.storage_dir())).get(UPLINK_PASSWORD)
    edge = config.edge_node(topology.gateway.id)
    return UplinkSettings(
        host=host,
        port=int(port),
        group_id=config.group_id,
        edge_node_id=edge,
        primary_host_id=config.primary_host_id,
        client_id=f"{config.group_id}.{edge}",
        keepalive_s=config.keepalive_s,
        tls=tls,
        username=config.username,
        password=password,
    )


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__

"""A real Mosquitto broker for tests: its own directory, a free port on loopback, optional TLS
(a CA and a server certificate made with openssl here), password file (mosquitto_passwd) and
ACL lines; and subscribers that collect what it delivers (paho-mqtt).

    with Broker.start(tmp_path, users={"gw1": "pw"}, acl=["user gw1", "topic readwrite spBv1.0/#"], tls=True) as b:
        ...                        # b.port, b.ca (PEM path), b.stop() / b.restart() by PID

The broker runs in the foreground of its own process (no daemon), so `stop` ends exactly it.
"""

from __future__ import annotations

import getpass
import shutil
import signal
import ssl
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.support import free_port, wait_for

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def make_certificates(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key): a CA signing a certificate for `host`."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (directory / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    ext = directory / "server.ext"
    san = f"IP:{host}" if host.replace(".", "").isdigit() else f"DNS:{host}"
    ext.write_text(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca),
            "-days", "2", "-subj", "/CN=btms test CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={host}")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
            "-out", str(cert), "-days", "2", "-extfile", str(ext))  # fmt: skip
    return ca, cert, key


@dataclass
class Broker:
    directory: Path
    port: int
    config: Path
    ca: Path | None
    process: subprocess.Popen | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.directory / "mosquitto.log"

    @classmethod
    def start(
        cls,
        directory: Path,
        *,
        users: dict[str, str] | None = None,
        acl: Iterable[str] = (),
        tls: bool = False,
        port: int | None = None,
        max_inflight: int = 20,
    ) -> Broker:
        """`users`: name -> password (then anonymous clients are refused); `acl`: lines of a
        Mosquitto ACL file (`user NAME`, `topic read|write|readwrite FILTER`, `pattern ...`);
        `max_inflight`: QoS 1 messages the broker sends a client before it waits for their
        PUBACKs (Mosquitto's default 20; the aggregator acknowledges once stored, so this is
        how many it can store in one transaction, docs/aggregator.md)."""
        directory.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        # Persistence: a subscriber's session and its queued QoS 1 messages survive a restart of
        # the broker (saved on SIGTERM), so a test sees what was published while it reconnected.
        lines = [
            f"listener {port} 127.0.0.1",
            "persistence true",
            f"persistence_location {directory}/",
            "max_queued_messages 0",
            f"max_inflight_messages {max_inflight}",
            f"user {getpass.getuser()}",  # as root it would switch to `mosquitto`, who cannot read these files
            "log_dest stderr",
            "log_type all",
        ]
        ca = None
        if tls:
            ca, cert, key = make_certificates(directory / "certs")
            lines += [f"cafile {ca}", f"certfile {cert}", f"keyfile {key}", "tls_version tlsv1.2"]
        if users is not None:
            passwords = directory / "passwords"
            passwords.write_text("")
            for name, password in users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwords), name, password], check=True, timeout=30)
            passwords.chmod(0o600)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        acl = list(acl)
        if acl:
            acl_file = directory / "acl"
            acl_file.write_text("\n".join(acl) + "\n")
            acl_file.chmod(0o600)
            lines.append(f"acl_file {acl_file}")
        config = directory / "mosquitto.conf"
        config.write_text("\n".join(lines) + "\n")
        broker = cls(directory, port, config, ca)
        broker.restart()
        return broker

    def restart(self) -> None:
        """Start the broker (again, on the same port) and wait until it accepts connections."""
        assert self.process is None or self.process.poll() is not None, "the broker is running"
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.config)], stdout=log, stderr=log, stdin=subprocess.DEVNULL
            )
        wait_for(self._listening, timeout=10, what=f"mosquitto listening on {self.port}")

    def _listening(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"mosquitto exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
        return f"Opening ipv4 listen socket on port {self.port}" in self.log.read_text()

    def stop(self) -> None:
        """Stop this broker by its PID (SIGTERM, then SIGKILL)."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def __enter__(self) -> Broker:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def client(
        self, client_id: str, username: str | None = None, password: str | None = None, *, keep_session: bool = False
    ) -> mqtt.Client:
        """A paho client set up for this broker (TLS when the broker has it); not connected.
        `keep_session`: the broker keeps its subscriptions and queues its messages while it is away."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=not keep_session)
        if self.ca is not None:
            client.tls_set_context(ssl.create_default_context(cafile=str(self.ca)))
        if username is not None:
            client.username_pw_set(username, password)
        return client


class Collector:
    """A subscriber that keeps every message it receives, in order: (topic, payload, retained).

    Its session is kept by the broker (QoS 1): nothing published while it reconnects is lost."""

    def __init__(self, broker: Broker, topic: str, username: str | None = None, password: str | None = None) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.connect_result: str | None = None
        self._lock = threading.Lock()
        self.client = broker.client(f"collector-{free_port()}", username, password, keep_session=True)
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.topic = topic
        self.client.connect("127.0.0.1", broker.port, 30)
        self.client.loop_start()
        wait_for(lambda: self.connect_result is not None, timeout=10, what="the collector's CONNACK")

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connect_result = str(reason_code)
        if not reason_code.is_failure:
            client.subscribe(self.topic, qos=1)

    def _on_message(self, client, userdata, message) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))

    def snapshot(self) -> list[tuple[str, bytes, bool]]:
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

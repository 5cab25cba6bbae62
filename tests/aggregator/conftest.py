"""One real PostgreSQL cluster for the aggregator's tests of a module (tests/postgres_support.py)."""

from __future__ import annotations

import pytest

from tests.postgres_support import PostgresCluster


@pytest.fixture(scope="module")
def postgres():
    cluster = PostgresCluster.create()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def broker(tmp_path):
    """A plain loopback Mosquitto (the TLS, password and ACL broker of the uplink tests replaces
    it where the gateways publish)."""
    import subprocess

    from tests.support import free_port, wait_for

    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n"
        # Mosquitto's default, said here: the unacknowledged messages it sends a client, so a
        # subscriber whose acknowledgements stall gets nothing past it
        "max_inflight_messages 20\n"
    )
    with open(tmp_path / "mosquitto.log", "w") as log:
        process = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    import socket

    def listening() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_for(listening, timeout=10, what="mosquitto to listen")
        yield port
    finally:
        process.terminate()
        process.wait(10)

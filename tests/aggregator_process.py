"""Run `btms aggregate` as a real process for integration tests and the benchmark."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import yaml

from tests.gateway_process import MARKER, REPO, actor_system_pids, alive
from tests.support import free_port, wait_for


def write_aggregator_config(directory: Path, broker: dict, dsn: str, **aggregator) -> Path:
    """An aggregator's configuration with free ports and its own storage under `directory`.

    broker: the `broker:` section (host, port, and TLS or credentials if any); aggregator:
    overrides of the `aggregator:` section (host_id, group_id, offline_after_s)."""
    path = directory / "aggregator.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "aggregator": {
                    "host_id": "agg1",
                    "group_id": "btms",
                    "admin_port": free_port(),
                    "offline_after_s": 30,
                    "storage": str(directory / "agg"),
                    **aggregator,
                },
                "broker": broker,
                "postgres": {"dsn": dsn},
                "web": {"port": free_port(), "metrics_cells": True},
            }
        )
    )
    return path


@dataclass
class AggregatorProcess:
    """`btms aggregate` in the background; output to a file (Thespian's orphans inherit pipes)."""

    config: Path
    process: subprocess.Popen
    output: Path
    token: str
    marker: str

    @classmethod
    @contextmanager
    def serving(cls, config: Path) -> Iterator[AggregatorProcess]:
        """Started, serving, and ended (with every actor process) when the block ends."""
        process = cls.start(config)
        try:
            process.wait_serving()
            yield process
        finally:
            process.end()

    @classmethod
    def start(cls, config: Path, name: str = "aggregate") -> AggregatorProcess:
        cli = [sys.executable, "-m", "btms.cli"]
        created = subprocess.run(
            [*cli, "token", "create", name, "--aggregator", str(config)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert created.returncode == 0, created.stderr
        output = config.parent / f"{name}.out"
        marker = uuid.uuid4().hex
        with open(output, "a") as out:
            process = subprocess.Popen(
                [*cli, "aggregate", "--config", str(config)],
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, MARKER: marker},
            )
        return cls(config, process, output, created.stdout.strip(), marker)

    @property
    def settings(self) -> dict:
        return yaml.safe_load(self.config.read_text())

    @property
    def admin_port(self) -> int:
        return self.settings["aggregator"]["admin_port"]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings['web']['port']}"

    def wait_serving(self, timeout: float = 60) -> None:
        wait_for(
            lambda: "serving on" in self.output.read_text() or self.process.poll() is not None,
            timeout=timeout,
            what="the aggregator to serve",
        )
        assert self.process.poll() is None, self.output.read_text()

    def get(self, path: str, token: str | None = None) -> tuple[int, str]:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {token or self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def get_json(self, path: str) -> dict:
        status, body = self.get(path)
        assert status == 200, body
        return json.loads(body)

    def admin_pid(self) -> int:
        """Thespian's admin: the process listening on the admin port."""
        return next(
            c.pid
            for c in psutil.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == self.admin_port and c.pid
        )

    def actor_pids(self) -> set[int]:
        return actor_system_pids(self.admin_port)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)
            self.process.wait(timeout)

    def end(self) -> None:
        """Stop it and make sure none of its actor processes is left (for finally blocks)."""
        pids = self.actor_pids()
        try:
            self.stop()
        finally:
            for pid in alive(pids):
                os.kill(pid, signal.SIGKILL)

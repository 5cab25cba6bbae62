"""A real PostgreSQL cluster for the aggregator's tests and benchmark: Debian's server binaries,
a data directory under a fresh temporary directory, TCP on a free loopback port and its unix
socket in that directory. PostgreSQL refuses to run as root, so a run by root starts it as the
`postgres` system user that Debian's package creates (CI runs as root too: nothing is skipped).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support import free_port, wait_for

SUPERUSER = "btms"
DATABASE = "btms"


def server_bin() -> Path:
    """The directory of initdb and postgres: Debian keeps them out of PATH, per major version."""
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if versions:
        return Path(versions[-1])
    found = shutil.which("initdb")
    if found is None:
        raise FileNotFoundError("PostgreSQL's initdb was not found: install Debian's postgresql package")
    return Path(found).resolve().parent


def _as_user(uid: int | None, gid: int | None):
    if uid is None:
        return None

    def drop() -> None:
        os.setgid(gid)  # type: ignore[arg-type]
        os.setuid(uid)

    return drop


@dataclass
class PostgresCluster:
    directory: Path
    port: int
    process: subprocess.Popen | None = None
    uid: int | None = None
    gid: int | None = None

    @classmethod
    def create(cls) -> PostgresCluster:
        """initdb in a new temporary directory (owned by `postgres` when we are root)."""
        directory = Path(tempfile.mkdtemp(prefix="btms-pg-"))
        uid = gid = None
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            uid, gid = user.pw_uid, user.pw_gid
            os.chown(directory, uid, gid)
        cluster = cls(directory, free_port(), uid=uid, gid=gid)
        done = subprocess.run(
            [str(server_bin() / "initdb"), "-D", str(cluster.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8"],
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=_as_user(uid, gid),
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()}")
        return cluster

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def log(self) -> Path:
        return self.directory / "postgres.log"

    @property
    def dsn(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> None:
        """Start the server and wait until it accepts connections (its database created)."""
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(server_bin() / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.directory),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",  # a test cluster: speed over durability across a power cut
                ],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                preexec_fn=_as_user(self.uid, self.gid),
            )
        wait_for(self._ready, timeout=60, interval=0.2, what=f"PostgreSQL on port {self.port} (log: {self.log})")

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"postgres exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
        psql = [str(server_bin() / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d"]
        probe = subprocess.run([*psql, "postgres", "-Atc", "select 1"], capture_output=True, text=True)
        if probe.returncode != 0:
            return False
        exists = subprocess.run(
            [*psql, "postgres", "-Atc", f"select 1 from pg_database where datname = '{DATABASE}'"],
            capture_output=True,
            text=True,
        )
        if exists.stdout.strip() != "1":
            subprocess.run([*psql, "postgres", "-c", f"create database {DATABASE}"], check=True, capture_output=True)
        return True

    def psql(self, sql: str) -> str:
        """Run one statement with psql (not with the code under test) and return its rows, |-separated."""
        done = subprocess.run(
            [str(server_bin() / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", DATABASE]
            + ["-v", "ON_ERROR_STOP=1", "-Atc", sql],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise AssertionError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then the files go."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

"""Real peers for the notification tests: an SMTP server (aiosmtpd, STARTTLS and AUTH), a GSM modem on a
pty, an HTTP SMS gateway. Registered as pytest fixtures by tests/conftest.py."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import threading
import tty
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support import free_port


class Sink:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


def _auth(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"btms" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)  # handled=False: a 535 reply (PROTOCOLS.md §5)


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("cert")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(d / "key.pem"),
            "-out",
            str(d / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    return d / "cert.pem", d / "key.pem"


@pytest.fixture
def smtp_server(cert):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    sink, port = Sink(), free_port()
    c = Controller(
        sink,
        hostname="127.0.0.1",
        port=port,
        tls_context=ctx,
        require_starttls=True,
        authenticator=_auth,
        auth_required=True,
    )
    c.start()
    yield sink, port, str(cert[0])
    c.stop()


class FakeModem:
    """Answers AT commands on the master side of a pty; the code under test opens the slave path."""

    def __init__(self, cms_error: int | None = None, echo: bool = True, urc: bool = True) -> None:
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self._slave = slave
        self.cms_error, self.echo, self.urc = cms_error, echo, urc
        self.sent: list[tuple[str, str]] = []
        self.commands: list[str] = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _write(self, text: str) -> None:
        os.write(self.master, text.encode())

    def _run(self) -> None:
        buf, number = b"", None
        while not self._stop:
            try:
                chunk = os.read(self.master, 1024)
            except OSError:
                return
            buf += chunk
            while True:
                if number is not None:
                    if b"\x1a" not in buf:
                        break
                    text, _, buf = buf.partition(b"\x1a")
                    if self.cms_error is not None:
                        self._write(f"\r\n+CMS ERROR: {self.cms_error}\r\n")
                    else:
                        self.sent.append((number, text.decode()))
                        if self.urc:
                            self._write('\r\n+CMTI: "SM",3\r\n')
                        self._write(f"\r\n+CMGS: {len(self.sent)}\r\n\r\nOK\r\n")
                    number = None
                    continue
                if b"\r" not in buf:
                    break
                line, _, buf = buf.partition(b"\r")
                cmd = line.decode().strip()
                if not cmd:
                    continue
                self.commands.append(cmd)
                if self.echo:
                    self._write(cmd + "\r\n")
                if cmd == "ATE0":
                    self.echo = False
                if cmd == "AT+CPIN?":
                    self._write("\r\n+CPIN: READY\r\n\r\nOK\r\n")
                elif cmd.startswith("AT+CMGS="):
                    number = cmd.split("=", 1)[1].strip('"')
                    self._write("\r\n> ")
                elif cmd.startswith("AT"):
                    self._write("\r\nOK\r\n")
                else:
                    self._write("\r\nERROR\r\n")

    def close(self) -> None:
        self._stop = True
        os.close(self._slave)
        os.close(self.master)


@pytest.fixture
def modem():
    created: list[FakeModem] = []

    def make(**kw) -> FakeModem:
        m = FakeModem(**kw)
        created.append(m)
        return m

    yield make
    for m in created:
        m.close()


@pytest.fixture
def sms_gateway():
    received: list = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            ok = self.headers.get("Authorization") == "Bearer tok"
            received.append(body)
            self.send_response(200 if ok else 401)
            self.end_headers()
            self.wfile.write(b"{}" if ok else b"bad token")

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/sms", received
    srv.shutdown()
    srv.server_close()

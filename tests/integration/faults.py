"""Services the fault tests start, stop and break on their own ports: Redis, an SMTP server, a slow cluster."""

import socket
import socketserver
import subprocess
import threading
import time
from pathlib import Path

from compute.backends.fake import FakeBackend


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own, without persistence, that the test stops and starts again."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def redis_server_available() -> bool:
    try:
        subprocess.run(["redis-server", "--version"], check=True, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


class SMTPServer(socketserver.ThreadingTCPServer):
    """A small SMTP server: refuses every mail with 451 while ``refusing``, else keeps what it accepts."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int):
        super().__init__(("127.0.0.1", port), _SMTPHandler)
        self.refusing = True
        self.received: list[str] = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _SMTPHandler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self):
        self.reply("220 test SMTP")
        while line := self.rfile.readline():
            command = line.decode(errors="replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.reply("250 test")
            elif command.startswith("MAIL FROM"):
                self.reply("451 4.3.0 try again later" if self.server.refusing else "250 OK")
            elif command.startswith("RCPT TO") or command.startswith("RSET") or command.startswith("NOOP"):
                self.reply("250 OK")
            elif command == "DATA":
                self.reply("354 go ahead")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    data.append(chunk.decode(errors="replace"))
                self.server.received.append("".join(data))
                self.reply("250 queued")
            elif command == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class SlowConvergeBackend(FakeBackend):
    """The fake cluster, slow to converge: a worker can be killed in the middle. Each converge is logged."""

    def converge(self, desired):
        log = Path(self.options["log_file"])
        with log.open("a") as out:
            out.write(f"start {desired.name}\n")
        time.sleep(float(self.options.get("delay", 0)))
        changes = super().converge(desired)
        with log.open("a") as out:
            out.write(f"done {desired.name} {len(changes)}\n")
        return changes

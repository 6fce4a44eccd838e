"""A Mosquitto broker run by the server: its configuration file, its process, its reloads.

The broker is a child process that dies with the server: Linux sends it SIGTERM when the
server's thread that started it ends (``PR_SET_PDEATHSIG``), so even a server killed by
SIGKILL leaves no broker behind, and SIGTERM lets Mosquitto save its persistent sessions
(the server's queued, unacknowledged messages) to ``<city>/mqtt/mosquitto.db``.
Configuration, password and ACL files live in that folder too; SIGHUP makes the broker
read the password and ACL files again.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from api.errors import ApiError

MOSQUITTO = "mosquitto"
CONFIG_FILE = "mosquitto.conf"
PASSWORD_FILE = "passwords"
ACL_FILE = "acl"
LOG_FILE = "mosquitto.log"
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
START_WAIT = 10.0
STOP_WAIT = 10.0
# QoS 1 messages in flight to one client, and queued for one offline client: the server's
# own client acknowledges a batch only once it is stored, so it needs many in flight.
MAX_INFLIGHT = 10_000
MAX_QUEUED = 1_000_000


class BrokerError(ApiError):
    """The MQTT broker is missing, cannot start, or stopped."""


@dataclass(frozen=True)
class BrokerConfig:
    """Where the broker listens and keeps its files.

    ``websockets_port``: a second listener speaking MQTT over WebSocket (for browsers);
    None: none.
    """

    folder: Path
    port: int
    host: str = "127.0.0.1"
    websockets_port: int | None = None

    @property
    def config_file(self) -> Path:
        return self.folder / CONFIG_FILE

    @property
    def password_file(self) -> Path:
        return self.folder / PASSWORD_FILE

    @property
    def acl_file(self) -> Path:
        return self.folder / ACL_FILE

    @property
    def log_file(self) -> Path:
        return self.folder / LOG_FILE

    def config_text(self) -> str:
        """The text of ``mosquitto.conf``."""
        lines = [
            "# Written by CIMTwin at each start: edits are lost.",
            "per_listener_settings false",
            "allow_anonymous false",
            f"password_file {self.password_file}",
            f"acl_file {self.acl_file}",
            "persistence true",
            f"persistence_location {self.folder}/",
            "autosave_interval 60",
            f"max_inflight_messages {MAX_INFLIGHT}",
            f"max_queued_messages {MAX_QUEUED}",
            f"log_dest file {self.log_file}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "connection_messages false",
            f"user {pwd.getpwuid(os.getuid()).pw_name}",  # as root: keep root, not drop
            f"listener {self.port} {self.host}",
        ]
        if self.websockets_port is not None:
            lines += [f"listener {self.websockets_port} {self.host}", "protocol websockets"]
        return "\n".join(lines) + "\n"


def mosquitto_path() -> str | None:
    """Where the ``mosquitto`` program is (searched on PATH and in /usr/sbin), or None."""
    return shutil.which(MOSQUITTO) or shutil.which(MOSQUITTO, path="/usr/sbin:/usr/local/sbin")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class Broker:
    """A running Mosquitto (start it with :meth:`start`, from a thread that outlives it)."""

    def __init__(self, config: BrokerConfig, process: subprocess.Popen[bytes]) -> None:
        self.config = config
        self.process = process

    @classmethod
    def start(cls, config: BrokerConfig, program: str | None = None) -> Broker:
        """Write the configuration and start the broker; the password and ACL files must
        exist. Returns once it accepts connections.

        Raises
        ------
        BrokerError
            When Mosquitto is not installed or does not start (its log says why).
        """
        program = program or mosquitto_path()
        if program is None:
            raise BrokerError("Mosquitto is not installed (apt-get install mosquitto)")
        for port in (config.port, config.websockets_port):
            if port is not None and not _port_free(config.host, port):
                raise BrokerError(f"port {port} of {config.host} is taken (CIMTWIN_MQTT_PORT)")
        config.folder.mkdir(parents=True, exist_ok=True)
        config.config_file.write_text(config.config_text())
        for needed in (config.password_file, config.acl_file):
            if not needed.is_file():
                raise BrokerError(f"the broker's {needed.name} file is missing in {config.folder}")
        _truncate(config.log_file)
        process = subprocess.Popen(
            [program, "-c", str(config.config_file)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with(os.getpid()),  # only a prctl call before exec
        )
        broker = cls(config, process)
        try:
            broker.wait_ready()
        except BrokerError:
            broker.stop()
            raise
        return broker

    @property
    def url(self) -> str:
        """``mqtt://host:port`` of the broker."""
        return f"mqtt://{self.config.host}:{self.config.port}"

    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self.process.poll() is None

    def wait_ready(self, timeout: float = START_WAIT) -> None:
        """Return once the broker accepts TCP connections."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise BrokerError(f"Mosquitto stopped at start: {self.log_tail()}")
            with (
                suppress(OSError),
                socket.create_connection((self.config.host, self.config.port), timeout=0.5),
            ):
                return
            time.sleep(0.05)
        raise BrokerError(f"Mosquitto did not listen within {timeout:g} s: {self.log_tail()}")

    def reload(self) -> None:
        """Make the broker read its password and ACL files again (SIGHUP)."""
        if self.running():
            self.process.send_signal(signal.SIGHUP)

    def stop(self, timeout: float = STOP_WAIT) -> None:
        """Stop the broker (SIGTERM, letting it save its sessions; SIGKILL if it hangs)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the broker's log, on one line."""
        if not self.config.log_file.is_file():
            return "no log"
        tail = self.config.log_file.read_text(errors="replace").strip().splitlines()[-lines:]
        return " | ".join(tail) or "empty log"


def _port_free(host: str, port: int) -> bool:
    """Whether nothing listens on ``host:port`` (else a readiness probe would find it)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _truncate(path: Path) -> None:
    with suppress(FileNotFoundError):
        path.write_text("")


_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with(parent: int) -> Callable[[], None]:
    """What the child runs before exec: ask for SIGTERM when the thread of ``parent`` that
    started it ends (and exit at once if ``parent`` is already gone)."""

    def request() -> None:
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return request

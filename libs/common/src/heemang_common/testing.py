"""Test support shared by every service's suite and the cross-service tests.

Databases: under CI (``CI=true``) the suite must use PostgreSQL at ``TEST_DATABASE_URL``
(default ``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``) and fails loudly if it
cannot reach it; elsewhere it uses PostgreSQL if it answers and falls back to SQLite files,
saying so. Each call to ``fresh_database`` creates a new database and migrates it with the
service's alembic migrations (never ``create_all``).

Broker: the embedded tansu broker, or ``KAFKA_BOOTSTRAP_SERVERS`` if set (a broker that
cannot be started or reached under CI fails the run).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from heemang_common.broker import EmbeddedBroker, free_port
from heemang_common.migrations import upgrade
from heemang_common.runtime import Runtime

DEFAULT_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
T = TypeVar("T")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


async def _postgres_answers(admin_url: str) -> str | None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:
        return repr(exc)
    finally:
        await engine.dispose()


@dataclass
class DatabaseFactory:
    """Creates migrated databases for one test session, and drops them at the end."""

    backend: str  # "postgresql" | "sqlite"
    admin_url: str
    tmpdir: Path
    created: list[str]

    @classmethod
    async def detect(cls) -> DatabaseFactory:
        admin_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_ADMIN_URL)
        problem = await _postgres_answers(admin_url)
        tmpdir = Path(tempfile.mkdtemp(prefix="heemang-test-"))
        if problem is None:
            return cls("postgresql", admin_url, tmpdir, [])
        if in_ci():
            raise RuntimeError(
                f"CI=true but PostgreSQL at {admin_url} is unreachable ({problem}); "
                "the CI suite must run against PostgreSQL"
            )
        print(f"\n[heemang tests] PostgreSQL unreachable ({problem}); falling back to SQLite")
        return cls("sqlite", admin_url, tmpdir, [])

    async def fresh_database(self, service: str, service_root: Path, *, migrate: bool = True) -> str:
        name = f"heemang_t_{service}_{uuid.uuid4().hex[:10]}"
        if self.backend == "postgresql":
            engine = create_async_engine(self.admin_url, isolation_level="AUTOCOMMIT")
            try:
                async with engine.connect() as conn:
                    await conn.execute(text(f'CREATE DATABASE "{name}"'))
            finally:
                await engine.dispose()
            self.created.append(name)
            url = make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)
        else:
            url = f"sqlite+aiosqlite:///{self.tmpdir / name}.db"
        if migrate:
            await asyncio.to_thread(upgrade, service_root, url)
        return url

    async def drop_all(self) -> None:
        if self.backend != "postgresql" or not self.created:
            return
        engine = create_async_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                for name in self.created:
                    await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            await engine.dispose()


async def start_broker() -> tuple[EmbeddedBroker | None, str]:
    """The embedded broker (started) or the configured external one."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if configured:
        return None, configured
    broker = EmbeddedBroker(partitions=4)
    try:
        await broker.start()
    except Exception as exc:
        raise RuntimeError(f"the embedded broker could not start: {exc!r}") from exc
    return broker, broker.bootstrap_servers


def fast_settings(settings_cls: type[T], *, database_url: str, bootstrap: str, **overrides: Any) -> T:
    """Settings for a service under test: its database, the test broker, quick retries."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": bootstrap,
        "environment": "test",
        "log_json": False,
        "log_level": "WARNING",
        "kafka_session_timeout_ms": 6000,
        "kafka_request_timeout_ms": 5000,
        "outbox_max_backoff_s": 0.5,
        "consumer_retry_base_s": 0.01,
        "consumer_max_attempts": 3,
        "port": free_port(),
        "auth_jwks": TEST_MINT.jwks_json(),
    }
    values.update(overrides)
    return settings_cls(**values)


@dataclass
class RunningService:
    name: str
    app: FastAPI
    url: str
    server: uvicorn.Server
    task: asyncio.Task[None]

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(self.task, 30)


async def serve(name: str, app: FastAPI, port: int) -> RunningService:
    """Run an app on a real loopback port inside this event loop (real HTTP, real lifespan)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name=f"uvicorn-{name}")
    for _ in range(400):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.025)
    else:
        raise TimeoutError(f"{name} did not start")
    return RunningService(name, app, f"http://127.0.0.1:{port}", server, task)


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout_s: float = 30.0, interval_s: float = 0.05
) -> T:
    """Poll until ``probe`` returns something truthy; fail with the last value otherwise."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s}s (last value: {last!r})")


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@contextlib.asynccontextmanager
async def services(*running: Awaitable[RunningService]) -> AsyncIterator[list[RunningService]]:
    started: list[RunningService] = []
    try:
        for item in running:
            started.append(await item)
        yield started
    finally:
        for service in reversed(started):
            with contextlib.suppress(Exception):
                await service.stop()


@dataclass(frozen=True)
class FakeMessage:
    """A Kafka record as the consumer reads it, for feeding InboxProcessor without a broker."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class TokenMint:
    """Issues access tokens the way the gateway does, with a key of its own, for tests of a
    service on its own. Services under test trust it through ``auth_jwks`` (fast_settings
    sets it by default)."""

    def __init__(self, kid: str = "test-mint") -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        self.kid = kid
        self._key = Ed25519PrivateKey.generate()

    def jwks_json(self) -> str:
        import json

        import jwt

        jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "alg": "EdDSA", "use": "sig"})
        return json.dumps({"keys": [jwk]})

    def token(
        self,
        role: str = "district_admin",
        *,
        sub: str | None = None,
        dongs: tuple[str, ...] | list[str] = ("*",),
        agency: str | None = None,
        clearances: tuple[str, ...] | list[str] = (),
        mfa: bool = True,
        ttl_s: int = 3600,  # module-level tokens must outlive a long, retried CI run
        **extra: Any,
    ) -> str:
        import time

        import jwt

        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": "heemang-gateway",
            "aud": "heemang",
            "sub": sub or f"user-{role}",
            "name": sub or role,
            "role": role,
            "dongs": list(dongs),
            "agency": agency,
            "clr": list(clearances),
            "amr": ["pwd", "otp"] if mfa else ["pwd"],
            "iat": now,
            "exp": now + ttl_s,
            "jti": uuid.uuid4().hex,
        }
        claims.update(extra)
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.kid})

    def headers(self, role: str = "district_admin", **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **claims)}"}


#: One mint per test process; every service started with fast_settings trusts it.
TEST_MINT = TokenMint()

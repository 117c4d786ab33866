"""Cross-service fixtures: start any set of services on real ports against real
databases and a real broker, and talk to them over HTTP."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from heemang_common.broker import EmbeddedBroker, free_port
from heemang_common.testing import TEST_MINT, DatabaseFactory, RunningService, fast_settings, serve

ORDER = ("intake", "casework", "resources", "hotline", "gateway")


def service_parts(name: str) -> tuple[Callable[..., Any], type, Path]:
    app_module = importlib.import_module(f"heemang_{name}.app")
    settings_module = importlib.import_module(f"heemang_{name}.settings")
    cli_module = importlib.import_module(f"heemang_{name}.cli")
    return app_module.create_app, settings_module.Settings, cli_module.SERVICE_ROOT


@dataclass
class Stack:
    """Services under test. ``broker`` is a bootstrap string, or an EmbeddedBroker whose
    address file the services follow (so they notice when it restarts)."""

    databases: DatabaseFactory
    broker: str | EmbeddedBroker
    running: dict[str, RunningService] = field(default_factory=dict)
    database_urls: dict[str, str] = field(default_factory=dict)
    # Known before the gateway starts, so the services can be told where its JWKS is.
    gateway_port: int = field(default_factory=free_port)

    async def start(self, name: str, **overrides: Any) -> RunningService:
        create_app, settings_cls, root = service_parts(name)
        if name not in self.database_urls:
            self.database_urls[name] = await self.databases.fresh_database(name, root)
        if name == "gateway":
            for upstream in ORDER[:-1]:
                if upstream in self.running:
                    overrides.setdefault(f"{upstream}_url", self.running[upstream].url)
        if name == "gateway":
            overrides.setdefault("port", self.gateway_port)
        else:
            overrides.setdefault(
                "auth_jwks_url", f"http://127.0.0.1:{self.gateway_port}/.well-known/jwks.json"
            )
        port = overrides.pop("port", None) or free_port()
        bootstrap = self.broker if isinstance(self.broker, str) else ""
        if isinstance(self.broker, EmbeddedBroker):
            assert self.broker.address_file is not None
            overrides.setdefault("kafka_address_file", str(self.broker.address_file.path))
        settings = fast_settings(
            settings_cls,
            database_url=self.database_urls[name],
            bootstrap=bootstrap,
            port=port,
            **overrides,
        )
        service = await serve(name, create_app(settings), settings.port)
        self.running[name] = service
        return service

    async def stop(self, name: str) -> None:
        await self.running.pop(name).stop()

    async def stop_all(self) -> None:
        for name in reversed(list(self.running)):
            await self.stop(name)

    def client(self, name: str, *, role: str = "district_admin", **claims: Any) -> httpx.AsyncClient:
        """A client acting as a user of ``role`` (a token every service under test trusts)."""
        headers = TEST_MINT.headers(role, **claims)
        return httpx.AsyncClient(base_url=self.running[name].url, timeout=10, headers=headers)


@pytest.fixture
async def make_stack(databases: DatabaseFactory) -> AsyncIterator[Callable[[str], Stack]]:
    stacks: list[Stack] = []

    def factory(broker: str | EmbeddedBroker) -> Stack:
        stack = Stack(databases, broker)
        stacks.append(stack)
        return stack

    yield factory
    for stack in stacks:
        await stack.stop_all()

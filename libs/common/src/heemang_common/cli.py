"""The command every service installs: ``heemang-<svc> serve | migrate | replay``, plus any
service-specific commands it passes as ``extra_commands`` (e.g. intake's ``rotate-keys``)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from heemang_common.db import create_engine, create_sessionmaker
from heemang_common.migrations import upgrade
from heemang_common.outbox import OutboxMixin
from heemang_common.relay import replay_since
from heemang_common.settings import ServiceSettings


def parse_since(value: str) -> datetime:
    """An ISO datetime, or a duration back from now such as ``2h`` / ``7d``."""
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    if value[-1:] in units and value[:-1].isdigit():
        return datetime.now(UTC) - timedelta(**{units[value[-1]]: int(value[:-1])})
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def run_cli(
    *,
    settings_factory: Callable[[], ServiceSettings],
    app_path: str,
    service_root: Path,
    outbox_model: type[OutboxMixin],
    argv: Sequence[str] | None = None,
    extra_commands: Mapping[str, Callable[[ServiceSettings], None]] | None = None,
) -> None:
    """Parse ``argv`` and run the command. ``extra_commands`` maps a sub-command name to a
    function of the settings; its docstring's first line is the command's help."""
    settings = settings_factory()
    parser = argparse.ArgumentParser(prog=f"heemang-{settings.service_name}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the HTTP API, outbox relay and consumers")
    commands.add_parser("migrate", help="apply the database migrations (alembic upgrade head)")
    replay = commands.add_parser("replay", help="re-publish outbox rows created since a time")
    replay.add_argument("--since", required=True, type=parse_since, help="ISO time or 2h / 7d")
    extras = dict(extra_commands or {})
    for name, command in extras.items():
        if name in commands.choices:
            raise ValueError(f"extra command {name!r} would shadow a built-in command")
        commands.add_parser(name, help=(command.__doc__ or "").strip().split("\n")[0] or None)
    args = parser.parse_args(argv)

    if args.command in extras:
        extras[args.command](settings)
        return

    if args.command == "serve":
        import uvicorn

        uvicorn.run(
            app_path,
            factory=True,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            timeout_graceful_shutdown=20,
            log_config=None,  # our JSON logging (configured by the app factory) applies
        )
    elif args.command == "migrate":
        upgrade(service_root, settings.database_url)
        print(f"{settings.service_name}: migrations applied to {settings.database_url.split('@')[-1]}")
    elif args.command == "replay":
        count = asyncio.run(_replay(settings, outbox_model, args.since))
        print(f"{settings.service_name}: {count} outbox rows queued for re-publishing since {args.since}")


async def _replay(settings: ServiceSettings, model: type[OutboxMixin], since: datetime) -> int:
    engine = create_engine(settings.database_url)
    try:
        return await replay_since(create_sessionmaker(engine), model, since)
    finally:
        await engine.dispose()

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from heemang_common.cli import run_cli
from heemang_common.db import create_engine, create_sessionmaker
from heemang_common.settings import ServiceSettings
from heemang_intake.crypto import RrnProtector
from heemang_intake.db.models import OutboxMessage
from heemang_intake.household_service import RotationReport, rotate_keys
from heemang_intake.settings import Settings

SERVICE_ROOT = Path(__file__).resolve().parents[2]


async def run_rotation(settings: Settings) -> RotationReport:
    engine = create_engine(settings.database_url)
    try:
        return await rotate_keys(
            create_sessionmaker(engine), RrnProtector.from_settings(settings), settings.rotate_batch_size
        )
    finally:
        await engine.dispose()


def rotate_keys_command(settings: ServiceSettings) -> None:
    """re-encrypt every stored RRN with the active key (INTAKE_RRN_ACTIVE_KEY)"""
    assert isinstance(settings, Settings)
    report = asyncio.run(run_rotation(settings))
    print(f"intake: active key {settings.active_rrn_key_id()!r}: {report}")


def main(argv: Sequence[str] | None = None) -> None:
    run_cli(
        settings_factory=Settings,
        app_path="heemang_intake.app:create_app",
        service_root=SERVICE_ROOT,
        outbox_model=OutboxMessage,
        argv=argv,
        extra_commands={"rotate-keys": rotate_keys_command},
    )

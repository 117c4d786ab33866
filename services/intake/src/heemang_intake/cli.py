from __future__ import annotations

from pathlib import Path

from heemang_common.cli import run_cli
from heemang_intake.db.models import OutboxMessage
from heemang_intake.settings import Settings

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    run_cli(
        settings_factory=Settings,
        app_path="heemang_intake.app:create_app",
        service_root=SERVICE_ROOT,
        outbox_model=OutboxMessage,
    )

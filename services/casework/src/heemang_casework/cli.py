from __future__ import annotations

from pathlib import Path

from heemang_casework.db.models import OutboxMessage
from heemang_casework.settings import Settings
from heemang_common.cli import run_cli

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    run_cli(
        settings_factory=Settings,
        app_path="heemang_casework.app:create_app",
        service_root=SERVICE_ROOT,
        outbox_model=OutboxMessage,
    )

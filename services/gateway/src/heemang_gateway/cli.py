"""heemang-gateway: serve, migrate, replay, and the account and audit commands."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select

from heemang_common.cli import run_cli
from heemang_common.db import create_engine, create_sessionmaker
from heemang_common.settings import ServiceSettings
from heemang_gateway.audit import log
from heemang_gateway.auth import service as auth
from heemang_gateway.db.models import OutboxMessage, User
from heemang_gateway.settings import Settings

SERVICE_ROOT = Path(__file__).resolve().parents[2]

#: Demo accounts for `make run` (development only): username, role, 동s, agency, clearances.
DEMO_USERS: list[tuple[str, str, list[str], str | None, list[str]]] = [
    ("demo-admin", "district_admin", ["*"], None, []),
    ("demo-supervisor", "supervisor", ["*"], None, ["restricted"]),
    ("demo-casemanager", "case_manager", ["sinsa", "nonhyeon1"], None, ["restricted"]),
    ("demo-officer", "dong_officer", ["sinsa"], None, []),
    ("demo-counsellor", "hotline_counsellor", ["*"], None, []),
    ("demo-resources", "resource_officer", ["*"], None, []),
    ("demo-partner", "partner_agency", [], "gangnam-welfare-centre", []),
    ("demo-auditor", "auditor", ["*"], None, []),
]
DEMO_PASSWORD = "Heemang-demo-2026"


async def _create_admin(settings: Settings, username: str, password: str) -> str | None:
    engine = create_engine(settings.database_url)
    ctx = auth.AuthContext.from_settings(settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            if await session.scalar(select(User).where(User.username == username)):
                return None
            user = await auth.create_user(
                session,
                actor="bootstrap",
                username=username,
                password=password,
                role="district_admin",
                dongs=["*"],
            )
            bootstrap = auth.principal_of(user, mfa=False)
            return await auth.enrol_totp(session, ctx, actor=bootstrap, user_id=user.id)
    finally:
        await engine.dispose()


def create_admin_command(settings: ServiceSettings) -> None:
    """create the first district admin (GATEWAY_ADMIN_USERNAME / GATEWAY_ADMIN_PASSWORD)"""
    assert isinstance(settings, Settings)
    username = os.environ.get("GATEWAY_ADMIN_USERNAME", "admin")
    password = os.environ.get("GATEWAY_ADMIN_PASSWORD") or secrets.token_urlsafe(12) + "-9a"
    uri = asyncio.run(_create_admin(settings, username, password))
    if uri is None:
        print(f"gateway: user {username!r} exists; nothing changed")
        return
    shown = password if "GATEWAY_ADMIN_PASSWORD" not in os.environ else "(as given)"
    print(f"gateway: created district admin {username!r}, password {shown}")
    print(f"gateway: second factor (add to an authenticator app): {uri}")


async def _seed_demo(settings: Settings) -> list[str]:
    engine = create_engine(settings.database_url)
    ctx = auth.AuthContext.from_settings(settings)
    lines: list[str] = []
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            for username, role, dongs, agency, clearances in DEMO_USERS:
                user = await session.scalar(select(User).where(User.username == username))
                if user is None:
                    user = await auth.create_user(
                        session,
                        actor="demo-seed",
                        username=username,
                        password=DEMO_PASSWORD,
                        role=role,
                        dongs=dongs,
                        agency_id=agency,
                        clearances=clearances,
                    )
                    if auth.needs_second_factor(user):
                        uri = await auth.enrol_totp(
                            session, ctx, actor=auth.principal_of(user, mfa=False), user_id=user.id
                        )
                        lines.append(f"  {username:<18} {role:<20} second factor: {uri}")
                        continue
                lines.append(f"  {username:<18} {role:<20} {','.join(dongs) or agency or ''}")
    finally:
        await engine.dispose()
    return lines


def seed_demo_users_command(settings: ServiceSettings) -> None:
    """create the demo users (one per role) for make run; refused in production"""
    assert isinstance(settings, Settings)
    if settings.environment == "production":
        raise SystemExit("gateway: demo users are never created in production")
    lines = asyncio.run(_seed_demo(settings))
    print(f"Demo users (password {DEMO_PASSWORD}):")
    print("\n".join(lines))


async def _verify(settings: Settings) -> tuple[int, list[str], tuple[int, str] | None]:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            total, breaks, head = await log.verify_all(session)
            return total, [f"seq {b.seq}: {b.problem}" for b in breaks], head
    finally:
        await engine.dispose()


def verify_access_log_command(settings: ServiceSettings) -> None:
    """check the access log's hash chain; exit 1 naming every edited or missing entry"""
    assert isinstance(settings, Settings)
    total, breaks, head = asyncio.run(_verify(settings))
    if breaks:
        print(f"gateway: access log BROKEN: {len(breaks)} problem(s) in {total} entries")
        print("\n".join(breaks[:1000]))
        sys.exit(1)
    print(f"gateway: access log intact ({total} entries); head {head}: record it as a checkpoint")


def main(argv: Sequence[str] | None = None) -> None:
    run_cli(
        settings_factory=Settings,
        app_path="heemang_gateway.app:create_app",
        service_root=SERVICE_ROOT,
        outbox_model=OutboxMessage,
        argv=argv,
        extra_commands={
            "create-admin": create_admin_command,
            "seed-demo-users": seed_demo_users_command,
            "verify-access-log": verify_access_log_command,
        },
    )

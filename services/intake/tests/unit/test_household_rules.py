"""Register rules: 동 list, members, history values (masked by the common policy)."""

from __future__ import annotations

from datetime import date

import pytest

from heemang_common.errors import Invalid
from heemang_intake.cli import main
from heemang_intake.domain import household as rules
from heemang_intake.domain.household import ProtectionStatus, Relationship


def test_unknown_dong_is_422() -> None:
    rules.check_dong("yeoksam1", frozenset({"yeoksam1"}))
    with pytest.raises(rules.UnknownDong) as caught:
        rules.check_dong("atlantis", frozenset({"yeoksam1"}))
    assert caught.value.status == 422


def test_members() -> None:
    rules.check_members([True, False], [Relationship.head, Relationship.child])
    rules.check_members([], [])
    with pytest.raises(rules.InvalidMembers, match="at most one head"):
        rules.check_members([True, True], [Relationship.head, Relationship.head])
    with pytest.raises(rules.InvalidMembers, match="must agree"):
        rules.check_members([False], [Relationship.head])
    with pytest.raises(Invalid, match="birth_date"):
        rules.check_birth_date(0, date(1990, 1, 2), date(1990, 1, 1))


def test_history_values_are_masked_for_personal_fields() -> None:
    assert rules.history_value("phone", "010-1234-5678") == "010-****-5678"
    assert rules.history_value("address", "서울 강남구 역삼로 1 2층") == "서울 강남구 역삼로 ***"
    assert rules.history_value("name", "홍길동") == "홍*동"
    assert rules.history_value("protection_status", ProtectionStatus.near_poor) == "near_poor"
    assert rules.history_value("means_as_of", date(2026, 1, 2)) == "2026-01-02"
    assert rules.history_value("income_monthly", 5) == "5"
    assert rules.history_value("phone", None) is None


def test_cli_offers_rotate_keys(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "rotate-keys" in capsys.readouterr().out


def test_extra_commands_cannot_shadow_builtins() -> None:
    from pathlib import Path

    from heemang_common.cli import run_cli
    from heemang_intake.db.models import OutboxMessage
    from heemang_intake.settings import Settings

    with pytest.raises(ValueError, match="shadow"):
        run_cli(
            settings_factory=Settings,
            app_path="x:y",
            service_root=Path("."),
            outbox_model=OutboxMessage,
            argv=["migrate"],
            extra_commands={"migrate": lambda settings: None},
        )

"""The import rules of CONVENTIONS.md, checked on every module's AST:
domain/ stays pure, no service imports another, libs/common imports no service."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "casework", "resources", "hotline", "gateway")
IMPURE = ("sqlalchemy", "fastapi", "starlette", "aiokafka", "httpx", "uvicorn", "alembic", "asyncpg")


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module


def top(module: str) -> str:
    return module.split(".")[0]


def sources(base: Path) -> list[Path]:
    return sorted(p for p in base.rglob("*.py") if "tests" not in p.relative_to(ROOT).parts)


@pytest.mark.parametrize("service", SERVICES)
def test_domain_packages_are_pure(service: str) -> None:
    domain = ROOT / "services" / service / "src" / f"heemang_{service}" / "domain"
    offences = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in (sources(domain) if domain.exists() else [])
        for line, module in imported_modules(path)
        if top(module) in IMPURE
    ]
    assert not offences, "domain/ must stay free of I/O libraries:\n" + "\n".join(offences)


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_another(service: str) -> None:
    others = {f"heemang_{other}" for other in SERVICES if other != service}
    offences = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sources(ROOT / "services" / service)
        for line, module in imported_modules(path)
        if top(module) in others
    ]
    assert not offences, "services talk through events and HTTP only:\n" + "\n".join(offences)


def test_common_imports_no_service() -> None:
    services = {f"heemang_{service}" for service in SERVICES}
    offences = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sources(ROOT / "libs" / "common" / "src")
        for line, module in imported_modules(path)
        if top(module) in services
    ]
    assert not offences, "libs/common must not depend on a service:\n" + "\n".join(offences)


def test_the_rules_catch_an_offence(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from sqlalchemy import select\nimport heemang_casework.service\n")
    assert [m for _, m in imported_modules(bad)] == ["sqlalchemy", "heemang_casework.service"]

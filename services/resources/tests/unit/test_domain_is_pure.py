"""domain/ stays free of I/O libraries (CONVENTIONS.md item 4), checked on its AST."""

from __future__ import annotations

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "src" / "heemang_resources" / "domain"
IMPURE = {"sqlalchemy", "fastapi", "starlette", "aiokafka", "httpx", "uvicorn", "alembic", "asyncpg"}


def imported(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_domain_has_modules() -> None:
    names = {p.name for p in DOMAIN.glob("*.py")}
    assert {"ledger.py", "care_caps.py", "campaigns.py", "errors.py"} <= names


def test_domain_imports_no_io_library() -> None:
    offences = [
        f"{path.name} imports {module}"
        for path in sorted(DOMAIN.rglob("*.py"))
        for module in imported(path)
        if module.split(".")[0] in IMPURE
    ]
    assert not offences


def test_domain_imports_only_stdlib_common_and_itself() -> None:
    allowed = {"heemang_common.errors", "heemang_resources.domain"}
    foreign = [
        f"{path.name} imports {module}"
        for path in sorted(DOMAIN.rglob("*.py"))
        for module in imported(path)
        if module.startswith("heemang") and not any(module.startswith(a) for a in allowed)
    ]
    assert not foreign


def test_the_check_sees_an_offence(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlalchemy.orm\nfrom fastapi import Depends\n")
    assert imported(bad) == {"sqlalchemy.orm", "fastapi"}

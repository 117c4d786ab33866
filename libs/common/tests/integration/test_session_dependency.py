"""SessionDep commits before the response is sent: a failed commit is never a success."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event, func, select

from heemang_common.deps import SessionDep
from heemang_common.problems import install_problem_handlers


def app_for(db: Any) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.state.runtime = SimpleNamespace(sessionmaker=db.sessionmaker)

    @app.post("/effects", status_code=201)
    async def create(session: SessionDep) -> dict[str, str]:
        session.add(db.Effect(consumer="api", event_id="e1", aggregate="a", seq=1))
        return {"status": "created"}

    return app


async def count(db: Any) -> int:
    async with db.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(db.Effect))).scalar_one())


async def test_commit_failure_is_reported_not_hidden_behind_a_201(common_db: Any) -> None:
    app = app_for(common_db)

    def refuse(session: Any) -> None:
        raise RuntimeError("the database refused the commit")

    sync_class = common_db.sessionmaker.kw.get("sync_session_class")
    target = sync_class if sync_class is not None else common_db.sessionmaker.class_.sync_session_class
    event.listen(target, "before_commit", refuse)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t"
        ) as client:
            response = await client.post("/effects")
    finally:
        event.remove(target, "before_commit", refuse)
    assert response.status_code == 500
    assert await count(common_db) == 0


async def test_the_change_is_committed_when_the_client_hears_201(common_db: Any) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app_for(common_db)), base_url="http://t"
    ) as client:
        response = await client.post("/effects")
    assert response.status_code == 201
    assert await count(common_db) == 1

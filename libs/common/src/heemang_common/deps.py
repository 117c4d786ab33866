"""FastAPI dependencies every service uses (typed ``Annotated`` aliases)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed by the edge before the response goes out;
    an error anywhere rolls it back, so bad input changes nothing.

    Used with ``scope="function"``: FastAPI's default (request scope) exits yield
    dependencies *after* the response is sent, so a client could be told 201 for a commit
    that then failed, or read before the commit landed."""
    async with get_runtime(request).sessionmaker() as session, session.begin():
        yield session


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

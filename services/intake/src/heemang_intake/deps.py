"""Intake's typed dependencies: the register context built once in create_app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from heemang_intake.household_service import Register


def get_register(request: Request) -> Register:
    register: Register = request.app.state.register
    return register


def get_actor(x_actor: Annotated[str | None, Header(max_length=100)] = None) -> str | None:
    """Who is making a change: the ``X-Actor`` header, unverified until the gateway's
    auth issue replaces it with the token's subject."""
    return x_actor


RegisterDep = Annotated[Register, Depends(get_register)]
ActorDep = Annotated[str | None, Depends(get_actor)]

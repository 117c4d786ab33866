"""Intake's typed dependencies: the register context built once in create_app, and the
caller (the gateway's verified token, from heemang_common.auth)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from heemang_common.auth import PrincipalDep
from heemang_intake.household_service import Register


def get_register(request: Request) -> Register:
    register: Register = request.app.state.register
    return register


RegisterDep = Annotated[Register, Depends(get_register)]

__all__ = ["PrincipalDep", "RegisterDep"]

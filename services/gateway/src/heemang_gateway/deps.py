from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from heemang_gateway.upstream import Upstreams


def get_upstreams(request: Request) -> Upstreams:
    upstreams: Upstreams = request.app.state.runtime.extras["upstreams"]
    return upstreams


UpstreamsDep = Annotated[Upstreams, Depends(get_upstreams)]

"""The baseline of the API benchmark: litestar decoding the same body, answering a constant.

The gap between this and ``POST /v1/score`` is what auth, metrics, logging and the model cost.
"""

from __future__ import annotations

import msgspec
from litestar import Litestar, post

from api.access import JSON_BODY_OPT, SCOPE_OPT
from api.scoring import ReportIn


class Constant(msgspec.Struct, frozen=True):
    version: str = "trivial"
    ok: bool = True


@post("/v1/score", status_code=200)
async def score(data: ReportIn) -> Constant:
    return Constant()


app = Litestar(route_handlers=[score], logging_config=None)


@post("/v1/trivial", status_code=200, opt={SCOPE_OPT: "read", JSON_BODY_OPT: True})
async def stacked(data: ReportIn) -> Constant:
    """The same constant answer, registered on the API's own app: its whole stack, no model."""
    return Constant()

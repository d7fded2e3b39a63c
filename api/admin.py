"""Administrative actions (``admin`` scope)."""

from __future__ import annotations

from types import MappingProxyType

import anyio
import msgspec
from litestar import Controller, post
from litestar.di import NamedDependency

from api.access import KEY_PROBLEMS, KEY_SECURITY, SCOPE_OPT
from api.problems import ProblemError, problem_responses
from api.registry import Reload, TableRegistry


class ReloadResult(msgspec.Struct, frozen=True, kw_only=True):
    #: A different table is now served (False: latest.json holds the table already served).
    reloaded: bool
    version: str


class AdminController(Controller):
    path = "/v1/admin"
    tags = ("admin",)
    opt = MappingProxyType({SCOPE_OPT: "admin"})
    security = KEY_SECURITY

    @post(
        "/reload",
        summary="Load the newest table now",
        description=(
            "Reads latest.json immediately instead of waiting for the next poll. A table that "
            "cannot be read or used is refused with 409 and the current one stays served."
        ),
        status_code=200,
        responses=problem_responses(*KEY_PROBLEMS, 409),
    )
    async def reload(self, registry: NamedDependency[TableRegistry]) -> ReloadResult:
        outcome = await anyio.to_thread.run_sync(lambda: registry.reload(force=True))
        failure = registry.last_failure
        if outcome is Reload.REFUSED and failure is not None:
            serving = registry.snapshot.version if registry.snapshot else None
            raise ProblemError(
                409,
                "reload-refused",
                f"The new table was refused: {failure.message}",
                context={"serving": serving},
            )
        return ReloadResult(reloaded=outcome is Reload.LOADED, version=registry.require().version)

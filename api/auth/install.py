"""Adding authentication to an app: its state, its routes, its errors' headers."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.auth.state import auth_state_of
from api.errors import NotAuthenticatedError, TooManySignInsError, status_for
from api.locale import error_detail
from api.routes import auth as auth_routes


def install_auth(app: FastAPI) -> None:
    """Give ``app`` its authentication state (a secret that is set must be a good one), the
    ``/api/auth`` routes and ``/api/me``, and the headers 401 and 429 answers carry."""
    auth_state_of(app)
    app.include_router(auth_routes.router)

    async def with_headers(request: Request, exc: Exception) -> JSONResponse:
        status = status_for(exc)
        return JSONResponse(
            status_code=status,
            content={"detail": error_detail(request, exc, status)},
            headers=getattr(exc, "headers", None),
        )

    for error in (NotAuthenticatedError, TooManySignInsError):
        app.add_exception_handler(error, with_headers)

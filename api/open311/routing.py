"""Open311 routes answer their errors as the standard does: ``[{"code", "description"}]``
(or ``<errors><error>``, for a resource asked as ``.xml``), with 404 for what does not
exist, 403 for a missing or wrong ``api_key`` and 400 for every other bad request."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from api.errors import DOMAIN_ERRORS, status_for
from api.open311.documents import error_answer

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def open311_status(status: int) -> int:
    """The Open311 status of the platform's: 401 (credentials) as 403; 403, 404, 413 (too
    large), 429 (too many) and server errors kept; every other client error 400."""
    if status == 401:
        return 403
    if status in (403, 404, 413, 429) or status >= 500:
        return status
    return 400


def answer_format(request: Request) -> str:
    """The format an answer (and its errors) is given in: XML for a resource named
    ``.xml``, JSON otherwise."""
    return "xml" if request.url.path.endswith(".xml") else "json"


class Open311Route(APIRoute):
    """A route whose errors (the domain's, validation, credentials) are Open311 errors."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def open311_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return error_answer(answer_format(request), 400, _validation_text(exc))
            except DOMAIN_ERRORS as exc:
                status = open311_status(status_for(exc))
                return error_answer(answer_format(request), status, str(exc))
            except HTTPException as exc:  # a body over the size limit, as it arrives
                status = open311_status(exc.status_code)
                return error_answer(answer_format(request), status, str(exc.detail))

        return open311_handler


def _validation_text(exc: RequestValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "query")
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(problems) or "the request is not valid"

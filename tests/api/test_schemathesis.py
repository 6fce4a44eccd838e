"""A schema-driven fuzz of the whole API: schemathesis generates requests for every
operation of the OpenAPI document (20 derandomized examples each) and no answer is a 5xx.

The app runs in-process (ASGI) over a small tiled city of its own, without a job worker:
uploads and tilings are queued and never run. Writes beyond the write rate get 429, which
is not a server error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from api.app import create_app
from api.auth.state import configure
from cim.ops.database import database_url
from tests.api.conftest import build_small_city
from tests.signin import signed_in

# The document does not depend on the city: the app is built at collection and pointed at
# the test city once it exists.
APP = create_app(Path("no-city-yet"), worker=False)
# The event streams never end: an in-process call would wait for them forever (their
# tests read them from a served app).
STREAMS = ["/api/sensors/stream", "/api/events/stream"]
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).exclude(path=STREAMS)
HEADERS: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def fuzzed_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    city = build_small_city(tmp_path_factory.mktemp("fuzzed-city"))
    APP.state.city_dir = city
    configure(APP, url=database_url(city))  # its users in the test city, not beside the code
    HEADERS.update(signed_in(APP))  # a province admin: every operation is allowed
    yield city


@schema.parametrize()
@settings(max_examples=20, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error(case: Any) -> None:
    case.call_and_validate(headers=HEADERS, checks=[not_a_server_error])

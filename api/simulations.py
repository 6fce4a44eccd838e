"""Running simulation models: checked before queueing, run with progress, stored.

:func:`submit_run` checks the model and its parameters, then queues a ``simulate`` job
(:mod:`api.jobs`); the job and ``cimtwin simulate run`` both call :func:`run_model`, which
runs the model over the city (the caller's scope, the live readings of the operational
database) and keeps its result in the :class:`~cim.result_store.ResultStore`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

import simulation.models
from api.jobtable import Job
from api.live_readings import OpsLiveReadings
from api.settings import get_settings
from cim.layout import CityLayout
from cim.ops.database import OpsDatabase
from cim.result_store import ResultStore, RunRecord
from cim.results import Progress, no_progress
from cim.scope import Scope, check_code
from cim.store import CityStore
from simulation.models.errors import ParametersError
from simulation.models.spec import LiveReadings, ModelInputs, ModelSpec

log = logging.getLogger(__name__)

JOB_KIND = "simulate"


def available_models() -> list[ModelSpec]:
    """Every model whose module is installed, in registry order (a model whose own module
    is missing is left out and logged; any other import failure is raised)."""
    found = []
    for name, module in simulation.models.MODULES.items():
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            log.warning("simulation model %s: module %s is not installed", name, module)
            continue
        found.append(simulation.models.model(name))
    return found


def model_dict(spec: ModelSpec) -> dict[str, Any]:
    """A model as ``GET /api/simulations/models`` lists it (parameters as a JSON schema)."""
    return {
        "name": spec.name,
        "title": {"en": spec.title_en, "zh": spec.title_zh},
        "description": spec.description,
        "parameters": spec.parameters_type.model_json_schema(),
    }


def check_parameters(spec: ModelSpec, parameters: dict[str, Any] | None) -> BaseModel:
    """``parameters`` validated by the model's parameter type.

    Raises
    ------
    ParametersError
        Naming each bad field and why ("water_level: Input should be greater than or equal
        to 0").
    """
    if parameters is not None and not isinstance(parameters, dict):
        raise ParametersError(f"{spec.name}: parameters must be an object of named values")
    try:
        return spec.parameters_type.model_validate(parameters or {})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "parameters"
            problems.append(f"{field}: {error['msg']}")
        raise ParametersError(f"{spec.name} parameters: {'; '.join(problems)}") from None


def scope_of(text: str | None) -> Scope:
    """The scope a job's ``scope`` names: a 12-digit jurisdiction code (its subtree), a
    code prefix, or empty (everything)."""
    if not text:
        return Scope.everything()
    if len(text) == 12 and text.isdigit():
        return Scope.of(check_code(text))
    return Scope(text)


def submit_run(
    city_dir: Path,
    model: str,
    parameters: dict[str, Any] | None,
    scope: Scope | str | None,
    trigger: dict[str, Any] | None = None,
    *,
    jurisdiction: str | None = None,
    queue: Any = None,
) -> Job:
    """Check ``model`` and ``parameters``, then queue a ``simulate`` job; return it.

    ``scope`` is what the run may read: a :class:`Scope`, or a jurisdiction code (then also
    the run's jurisdiction), or None (everything). ``jurisdiction`` records who submitted
    it (callers whose scope holds it see the job and the run); ``trigger`` says why a run
    was started automatically (``{"alert": 12, "rule": 3}``). ``queue`` is the city's
    :class:`~api.jobs.JobQueue` when the caller holds one.

    Raises
    ------
    UnknownModelError, ParametersError
        Before anything is queued.
    """
    from api.jobs import JobQueue  # api.jobs imports this module for its work

    spec = simulation.models.model(model)
    checked = check_parameters(spec, parameters)
    if isinstance(scope, str):
        jurisdiction = jurisdiction or check_code(scope)
        scope = Scope.of(scope)
    scope = scope or Scope.everything()
    params = {"model": spec.name, "parameters": checked.model_dump(mode="json"),
              "scope": scope.prefix, "trigger": trigger}  # fmt: skip
    jobs = queue if queue is not None else JobQueue(city_dir)
    job: Job = jobs.submit(JOB_KIND, params, jurisdiction=jurisdiction)
    return job


def run_model(
    city_dir: Path,
    model: str,
    parameters: dict[str, Any] | None,
    scope: Scope,
    progress: Progress = no_progress,
    trigger: dict[str, Any] | None = None,
    *,
    jurisdiction: str | None = None,
    live: LiveReadings | None = None,
) -> RunRecord:
    """Run ``model`` over the city in ``city_dir`` as seen by ``scope`` and store the result.

    ``live`` defaults to the operational database's latest readings (none when the city has
    no database). The stored run records ``jurisdiction`` and ``trigger``.
    """
    spec = simulation.models.model(model)
    checked = check_parameters(spec, parameters)
    started = datetime.now(UTC)
    with CityStore.open(city_dir) as store, _live_readings(city_dir, scope, store.crs) as ops:
        inputs = ModelInputs(store, city_dir, scope, live if live is not None else ops)
        progress(0, f"running {spec.name}")
        result = spec.run(inputs, checked, progress)
    progress(99, "storing the result")
    record = ResultStore(city_dir).save(
        result, jurisdiction=jurisdiction, trigger=trigger, started=started
    )
    progress(100, f"run {record.id} stored")
    return record


@contextmanager
def _live_readings(city_dir: Path, scope: Scope, crs: str) -> Iterator[LiveReadings | None]:
    """The operational database's readings, when the city has one."""
    url = get_settings().database_url
    if not url and not CityLayout(city_dir).ops.is_file():
        yield None
        return
    db = OpsDatabase.for_city(city_dir, url)
    try:
        yield OpsLiveReadings(db, scope, crs)
    finally:
        db.close()


def job_result(record: RunRecord) -> dict[str, Any]:
    """What a finished ``simulate`` job answers."""
    return {"run_id": record.id, "model": record.model, "summary": record.summary,
            "url": f"/api/simulations/runs/{record.id}"}  # fmt: skip

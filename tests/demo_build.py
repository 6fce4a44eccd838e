"""The demo city, built once per session by ``cimtwin demo --no-serve``: the modules that
test it take a copy (building it is the costliest fixture of the suite).

The build runs the command line in this process with the demo's clock held at one instant,
so that the sensors' history and the incidents' history both end at the known
:attr:`BuiltDemo.built_us`; what the sensor and incident builds returned is kept beside
what the command printed.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import api.demo_incidents
import api.demo_sensors
from api.cli import app
from api.demo_incidents import IncidentBuild
from api.demo_sensors import SensorBuild


@dataclass(frozen=True)
class BuiltDemo:
    """The session's demo city: never change ``folder``, take a :meth:`copy`.

    Attributes
    ----------
    folder:
        The built city.
    built_us:
        The instant (microseconds) the sensors' and the incidents' histories end at.
    sensors, incidents:
        What the command's sensor and incident builds returned.
    output:
        What the command printed on standard error.
    """

    folder: Path
    built_us: int
    sensors: SensorBuild
    incidents: IncidentBuild
    output: str

    def copy(self, destination: Path) -> Path:
        """Copy the city to ``destination`` (a folder that does not exist yet); its path."""
        shutil.copytree(self.folder, destination)
        return destination


def _recording(function: Callable[..., Any], into: list[Any]) -> Callable[..., Any]:
    def recorded(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        into.append(result)
        return result

    return recorded


def build_demo_city(folder: Path) -> BuiltDemo:
    """Run ``cimtwin demo --city folder --no-serve`` with the demo clock held at the start."""
    built = api.demo_sensors.now_us()
    sensors: list[SensorBuild] = []
    incidents: list[IncidentBuild] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(api.demo_sensors, "now_us", lambda: built)
        patch.setattr(api.demo_sensors, "city_demo_sensors",
                      _recording(api.demo_sensors.city_demo_sensors, sensors))  # fmt: skip
        patch.setattr(api.demo_incidents, "city_demo_incidents",
                      _recording(api.demo_incidents.city_demo_incidents, incidents))  # fmt: skip
        result = CliRunner().invoke(app, ["demo", "--city", str(folder), "--no-serve"])
    assert result.exit_code == 0, f"cimtwin demo failed: {result.stderr}"
    assert len(sensors) == len(incidents) == 1, "cimtwin demo did not build sensors and incidents"
    return BuiltDemo(folder, built, sensors[0], incidents[0], result.stderr)


@pytest.fixture(scope="session")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> BuiltDemo:
    """The demo city of the session (read only: tests copy it to change it)."""
    return build_demo_city(tmp_path_factory.mktemp("built-demo") / "demo-city")

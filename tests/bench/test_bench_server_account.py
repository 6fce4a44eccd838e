"""bench/common.py's account for the servers the benchmarks start: a server sharing the
secret takes its token, one with another secret refuses it."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.state import configure
from cim.store import CityStore

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _common() -> ModuleType:
    key = "_cimtwin_bench_common"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, BENCH / "common.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


def _me(city: Path, secret: str, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    app = create_app(city, viewer_dir=city / "no-viewer", worker=False)
    configure(app, secret=secret)
    with TestClient(app) as client:
        answer = client.get("/api/me", headers=headers)
    return answer.status_code, answer.json()


def test_admin_headers_sign_in_an_admin_of_the_province(tmp_path: Path) -> None:
    common = _common()
    city = tmp_path / "city"
    CityStore.create(city, "EPSG:4547").close()
    secret = common.server_secret()
    assert len(secret) >= 32 and secret != common.server_secret()
    headers = common.admin_headers(city, secret)
    status, me = _me(city, secret, headers)
    assert status == 200, me
    assert me["roles"] == ["admin"]
    assert me["jurisdiction"]["code"] == common.PROVINCE  # type: ignore[index]
    assert (city / "ops.sqlite").is_file()
    assert _me(city, common.server_secret(), headers)[0] == 401  # signed with the run's secret
    assert common.server_env(secret, {"PATH": "/bin"}) == {
        "PATH": "/bin", "CIMTWIN_SECRET_KEY": secret}  # fmt: skip


def test_admin_headers_command_prints_the_header_as_json(tmp_path: Path) -> None:
    common = _common()
    city = tmp_path / "city"
    CityStore.create(city, "EPSG:4547").close()
    secret = common.server_secret()
    done = subprocess.run(
        [sys.executable, str(BENCH / "common.py"), "admin-headers", str(city)],
        capture_output=True, text=True, check=False, env=common.server_env(secret),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    headers = json.loads(done.stdout.strip().splitlines()[-1])
    assert headers["Authorization"].startswith("Bearer ")
    assert _me(city, secret, headers)[0] == 200

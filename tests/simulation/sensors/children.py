"""Child processes of the durability tests: an ingest that reports each committed batch, and
an IFC import into a city store that reports its progress.

Usage::

    python -m tests.simulation.sensors.children ingest URL DATASTREAM BATCHES SIZE
    python -m tests.simulation.sensors.children import IFC CITY_DIR [GATE]

``ingest`` stores BATCHES batches of SIZE observations of DATASTREAM, batch ``k`` holding
the seconds ``k * SIZE .. (k + 1) * SIZE - 1`` after :data:`T0`, and prints ``acked N``
(observations acknowledged so far) once each batch's transaction has committed.

``import`` prints ``started``, ``progress N`` as elements are stored and ``done N``; given
a GATE file, it pauses at its first progress, inside the import's write transaction, until
that file exists (at most two minutes).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from simulation.sensors.records import ObservationIn

T0 = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
SECOND_US = 1_000_000


def batch_rows(datastream_id: int, batch: int, size: int) -> list[ObservationIn]:
    """The observations of batch ``batch`` (one a second, value = its second)."""
    first = batch * size
    return [
        ObservationIn(datastream_id, T0 + (first + i) * SECOND_US, float(first + i))
        for i in range(size)
    ]


def _ingest(url: str, datastream_id: int, batches: int, size: int) -> None:
    from cim.ops.database import OpsDatabase
    from cim.scope import Scope
    from simulation.sensors.ingest import ingest

    acked = 0
    with OpsDatabase.open(url) as db:
        for batch in range(batches):
            result = ingest(db, batch_rows(datastream_id, batch, size), Scope.everything())
            if result.rejected:
                print(f"rejected {result.rejected[0].reason}", flush=True)
                sys.exit(1)
            acked += size
            print(f"acked {acked}", flush=True)


def _import(ifc: Path, city: Path, gate: Path | None) -> None:
    from bim.importer import import_ifc
    from cim.store import CityStore
    from tests.conftest import setup_for

    setup = setup_for(ifc)
    store = CityStore.create(city, setup.crs)
    print("started", flush=True)

    def progress(_path: object, stored: int) -> None:
        print(f"progress {stored}", flush=True)
        deadline = time.monotonic() + 120
        while gate is not None and not gate.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    report = import_ifc(store, ifc, setup.options(), on_progress=progress)
    print(f"done {sum(report.objects_by_class.values())}", flush=True)
    store.close()


def main(argv: list[str]) -> None:
    if argv[:1] == ["ingest"] and len(argv) == 5:
        _ingest(argv[1], int(argv[2]), int(argv[3]), int(argv[4]))
    elif argv[:1] == ["import"] and len(argv) in (3, 4):
        _import(Path(argv[1]), Path(argv[2]), Path(argv[3]) if len(argv) == 4 else None)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])

"""Writing output folders so that readers never see a half-written one."""

from __future__ import annotations

import shutil
from pathlib import Path


def swap_in(staging: Path, final: Path) -> None:
    """Replace ``final`` by the complete ``staging`` folder (two renames, old one removed)."""
    retired = final.with_name(f".{final.name}.old")
    shutil.rmtree(retired, ignore_errors=True)
    if final.exists():
        final.rename(retired)
    staging.rename(final)
    shutil.rmtree(retired, ignore_errors=True)

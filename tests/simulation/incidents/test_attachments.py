"""Photos: the type comes from the bytes, the declared type must agree, the size and
count are limited, and a refused photo stores nothing at all."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from cim.ops import OpsDatabase
from cim.ops.incident_tables import Incident, IncidentAttachment, IncidentStep
from cim.scope import Scope
from simulation.incidents.attachments import AttachmentIn, get_attachment, sniff
from simulation.incidents.errors import IncidentInputError, IncidentNotFoundError
from simulation.incidents.incidents import incident_history, report_incident, take_step
from tests.simulation.incidents.people import (
    HUACHENG,
    JPEG,
    OTHER_MANAGER,
    PDF,
    T0,
    photo,
    png_bytes,
    report,
)

# a 1 x 1 lossless WebP image
WEBP = (
    b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00"
    b"\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
)


def _counts(db: OpsDatabase) -> tuple[int, int, int]:
    with db.transaction() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(table))
            for table in (Incident, IncidentStep, IncidentAttachment)
        )


def test_the_type_is_read_from_the_bytes() -> None:
    assert (sniff(png_bytes()), sniff(JPEG), sniff(WEBP), sniff(PDF)) == (
        "image/png",
        "image/jpeg",
        "image/webp",
        None,
    )


def test_photos_are_stored_with_their_step_and_read_back(ops_db: OpsDatabase) -> None:
    png = png_bytes(3, 1)
    record = report_incident(
        ops_db,
        report(
            attachments=(photo("../../etc/scene.png", png), photo("gate.jpg", JPEG, "image/jpg"))
        ),
        HUACHENG,
        now_us=T0,
    )
    step = take_step(
        ops_db, record.id, "comment", HUACHENG, now_us=T0 + 1, note="more",
        attachments=[AttachmentIn("w.webp", "application/octet-stream", WEBP)],
    )  # fmt: skip
    report_step, comment = incident_history(ops_db, record.id, HUACHENG.scope)
    assert comment.id == step.last_step_id
    first, second = report_step.attachments
    assert (first.filename, first.media_type, first.size) == ("scene.png", "image/png", len(png))
    assert first.sha256 == hashlib.sha256(png).hexdigest()
    assert (second.filename, second.media_type) == ("gate.jpg", "image/jpeg")
    assert [a.media_type for a in comment.attachments] == ["image/webp"]
    stored = get_attachment(ops_db, record.id, first.id, HUACHENG.scope)
    assert stored.content == png and stored.record == first
    with pytest.raises(IncidentNotFoundError):
        get_attachment(ops_db, record.id, first.id, OTHER_MANAGER.scope)
    with pytest.raises(IncidentNotFoundError):
        get_attachment(ops_db, record.id + 1, first.id, Scope.everything())


@pytest.mark.parametrize(
    ("attachments", "message"),
    [
        (
            [photo("invoice.jpg", PDF, "image/jpeg")],
            "'invoice.jpg' is a PDF document: photos must be",
        ),
        ([photo("x.png", b"hello world", "image/png")], "'x.png' is not a JPEG, PNG or WebP image"),
        ([photo("a.png", b"", "image/png")], "'a.png' is empty"),
        (
            [photo("a.jpg", png_bytes(), "image/jpeg")],
            "declared image/jpeg but its bytes are image/png",
        ),
        ([photo(f"{i}.png") for i in range(7)], "7 attachments: at most 6 photos per step"),
        (
            [photo("big.png", png_bytes() + b"\x00" * 2048)],
            "'big.png' is 2119 bytes: photos may be 2048 bytes at most",
        ),
    ],
)
def test_a_refused_photo_stores_nothing(
    ops_db: OpsDatabase, attachments: list[AttachmentIn], message: str
) -> None:
    record = report_incident(ops_db, report(), HUACHENG, now_us=T0)
    before = _counts(ops_db)
    with pytest.raises(IncidentInputError, match=message):
        take_step(
            ops_db, record.id, "comment", HUACHENG, now_us=T0 + 1, note="see photo",
            attachments=attachments, max_photo_bytes=2048,
        )  # fmt: skip
    with pytest.raises(IncidentInputError, match=message):
        report_incident(
            ops_db,
            report(attachments=tuple(attachments)),
            HUACHENG,
            now_us=T0,
            max_photo_bytes=2048,
        )
    assert _counts(ops_db) == before

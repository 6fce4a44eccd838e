"""Photos attached to reports and steps: the type is read from the bytes (JPEG, PNG,
WebP), never trusted from the name or the declared type; the size is limited; the bytes
and their SHA-256 are stored with the step (append-only)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from cim.ops.database import OpsDatabase
from cim.ops.incident_tables import Incident, IncidentAttachment
from cim.ops.scoping import within
from cim.scope import Scope
from simulation.incidents.errors import IncidentInputError, IncidentNotFoundError
from simulation.incidents.records import (
    AttachmentFile,
    AttachmentIn,
    AttachmentRecord,
    attachment_record,
)

__all__ = [
    "DEFAULT_MAX_PHOTO_MB",
    "MAX_ATTACHMENTS",
    "AttachmentIn",
    "check_attachments",
    "get_attachment",
    "sniff",
    "store_attachments",
]

DEFAULT_MAX_PHOTO_MB = 10
MAX_ATTACHMENTS = 6
ACCEPTED = ("image/jpeg", "image/png", "image/webp")
# Declared types that say nothing (the bytes decide).
UNDECLARED = ("", "application/octet-stream")
ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}
# What other files start with, to name them in the refusal.
OTHER_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"BM", "a BMP image"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "an executable"),
    (b"<?xml", "an XML document"),
    (b"<svg", "an SVG document"),
    (b"<!DOCTYPE", "an HTML document"),
    (b"<html", "an HTML document"),
)
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\\"]")


def sniff(content: bytes) -> str | None:
    """The accepted media type ``content`` is (by its first bytes), or None."""
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def _found(content: bytes) -> str:
    head = content[:16].lstrip()
    for magic, name in OTHER_MAGIC:
        if head[: len(magic)].lower() == magic.lower():
            return name
    return "not a JPEG, PNG or WebP image"


def check_attachments(
    attachments: Sequence[AttachmentIn], max_bytes: int = DEFAULT_MAX_PHOTO_MB * 1024 * 1024
) -> list[AttachmentIn]:
    """The attachments with their type read from their bytes and a safe file name.

    Raises
    ------
    IncidentInputError
        More than :data:`MAX_ATTACHMENTS`, an empty or too big file, a type other than
        JPEG, PNG or WebP (the message names what it is), or a declared type that is not
        the one of the bytes.
    """
    if len(attachments) > MAX_ATTACHMENTS:
        raise IncidentInputError(
            f"{len(attachments)} attachments: at most {MAX_ATTACHMENTS} photos per step"
        )
    checked = []
    for item in attachments:
        name = safe_filename(item.filename)
        if not item.content:
            raise IncidentInputError(f"attachment {name!r} is empty")
        if len(item.content) > max_bytes:
            raise IncidentInputError(
                f"attachment {name!r} is {_size(len(item.content))}:"
                f" photos may be {_size(max_bytes)} at most"
            )
        found = sniff(item.content)
        if found is None:
            raise IncidentInputError(
                f"attachment {name!r} is {_found(item.content)}: photos must be JPEG, PNG or WebP"
            )
        declared = item.media_type.split(";")[0].strip().lower()
        declared = ALIASES.get(declared, declared)
        if declared not in UNDECLARED and declared != found:
            raise IncidentInputError(
                f"attachment {name!r} is declared {declared} but its bytes are {found}"
            )
        checked.append(AttachmentIn(name, found, item.content))
    return checked


def _size(size: int) -> str:
    return f"{size / 1048576:.1f} MB" if size >= 104857 else f"{size} bytes"


def safe_filename(filename: str) -> str:
    """``filename`` without folders or control characters, at most 255 characters."""
    base = re.split(r"[/\\]", filename or "")[-1]
    base = _UNSAFE_NAME.sub("_", base).strip() or "photo"
    return base[-255:]


def store_attachments(
    session: Session,
    incident_id: int,
    step_id: int,
    attachments: Sequence[AttachmentIn],
    now_us: int,
) -> list[AttachmentRecord]:
    """Store checked attachments (:func:`check_attachments`) with the step ``step_id``."""
    rows = [
        IncidentAttachment(
            incident_id=incident_id,
            step_id=step_id,
            filename=item.filename,
            media_type=item.media_type,
            size=len(item.content),
            sha256=hashlib.sha256(item.content).hexdigest(),
            content=item.content,
            created_us=now_us,
        )
        for item in attachments
    ]
    session.add_all(rows)
    session.flush()
    return [attachment_record(row) for row in rows]


def get_attachment(
    db: OpsDatabase, incident_id: int, attachment_id: int, scope: Scope
) -> AttachmentFile:
    """The attachment ``attachment_id`` of incident ``incident_id`` and its bytes.

    Raises
    ------
    IncidentNotFoundError
        No such attachment on that incident, or the incident is outside ``scope``.
    """
    query = (
        select(IncidentAttachment)
        .join(Incident, Incident.id == IncidentAttachment.incident_id)
        .where(
            IncidentAttachment.id == attachment_id,
            IncidentAttachment.incident_id == incident_id,
            within(Incident.jurisdiction, scope),
        )
    )
    with db.transaction() as session:
        row = session.scalar(query)
        if row is None:
            raise IncidentNotFoundError(
                f"incident {incident_id} has no attachment {attachment_id} you may see"
            )
        return AttachmentFile(attachment_record(row), bytes(row.content))

"""Receiving files: streamed to content-addressed storage while hashed; one row per distinct content.

A file is kept as it came under ``MEDIA_ROOT/rcm/<organization id>/<sha[:2]>/<sha256>``. It is
copied in 1 MiB chunks to a temporary file next to its final place while its SHA-256 is computed,
so a large file is never held in memory, then renamed into place. The same bytes received again
(by any feed of the organization, by any route) give back the existing ``ReceivedFile``:
``file_receive`` sets ``was_received_before`` on what it returns so callers can say so. Another
organization receiving the same bytes gets its own row and its own copy.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from revops.tenancy import CrossTenantWrite, require_tenant_id

from ..models import Feed, FileSource, ReceivedFile

CHUNK = 1 << 20


def rcm_root(tenant_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "rcm" / str(tenant_id)


def storage_path_for(tenant_id: int, sha256: str) -> str:
    """Where a file's bytes live, relative to MEDIA_ROOT."""
    return f"rcm/{tenant_id}/{sha256[:2]}/{sha256}"


def file_path(file: ReceivedFile) -> Path:
    """The stored bytes of ``file`` on disk (refuses a path outside the organization's folder)."""
    path = (Path(settings.MEDIA_ROOT) / file.storage_path).resolve()
    if not path.is_relative_to(rcm_root(file.tenant_id).resolve()):
        raise CrossTenantWrite(f"file {file.pk} is stored outside its organization's folder")
    return path


def file_open(file: ReceivedFile) -> IO[bytes]:
    return file_path(file).open("rb")


def _clean_filename(filename: str) -> str:
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return (name or "unnamed")[:255]


def _read(stream: Any, size: int) -> bytes:
    chunk = stream.read(size)
    if isinstance(chunk, str):
        raise TypeError("file_receive needs a binary stream (open the file with 'rb')")
    return chunk


@transaction.atomic
def file_receive(*, feed: Feed, filename: str, stream: IO[bytes], source: str, user: Any | None = None) -> ReceivedFile:
    """Store ``stream``'s bytes once per organization and return their ``ReceivedFile``.

    ``source`` is a ``FileSource`` (inbox, upload, api). The returned object carries
    ``was_received_before``: True when these bytes were already received (nothing new stored).
    """
    tenant_id = require_tenant_id()
    if feed.tenant_id != tenant_id:
        raise CrossTenantWrite("the feed belongs to another organization")
    if source not in FileSource.values:
        raise ValidationError({"source": f"{source!r} is not one of {', '.join(FileSource.values)}"})
    root = rcm_root(tenant_id)
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=root / "tmp", prefix="receiving-")
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := _read(stream, CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        sha = digest.hexdigest()
        existing = ReceivedFile.objects.filter(sha256=sha).first()
        if existing is not None:
            existing.was_received_before = True  # type: ignore[attr-defined]
            return existing
        relative = storage_path_for(tenant_id, sha)
        final = Path(settings.MEDIA_ROOT) / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        if not final.exists():  # content-addressed: an existing copy holds the same bytes
            os.replace(tmp, final)
        file = ReceivedFile(
            feed=feed, filename=_clean_filename(filename), sha256=sha, size=size, storage_path=relative,
            source=source, received_by=user if getattr(user, "pk", None) else None,
        )
        try:
            with transaction.atomic():
                file.save()
        except IntegrityError:
            # The same bytes arrived at the same moment by another route and won the race.
            existing = ReceivedFile.objects.get(sha256=sha)
            existing.was_received_before = True  # type: ignore[attr-defined]
            return existing
        file.was_received_before = False  # type: ignore[attr-defined]
        return file
    finally:
        tmp.unlink(missing_ok=True)

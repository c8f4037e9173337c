"""Feeds: their settings and schedule, and the inbox folder each one is polled from.

A feed's inbox is ``RCM_INBOX_ROOT/<organization id>/<feed.inbox_dir>/``. ``feed_save`` keeps a
``TenantSchedule`` (and so a celery-beat entry) per feed that runs ``rcm_feeds.tasks.feeds_poll``
for it on the feed's crontab; the schedule is disabled while the feed is inactive or has no
inbox. ``inbox_poll`` receives every settled file in the inbox (not hidden, not ``.part``/``.tmp``,
unchanged for ``RCM_INBOX_SETTLE_SECONDS``), starts its run, and moves it to ``processed/`` once
the receipt is committed. A file moved back into the inbox is recognised by its content and
gets a "duplicate" run: it is never loaded twice.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from revops.models import Program
from revops.schedules import schedule_delete, schedule_save
from revops.tenancy import require_tenant_id

from ..models import Feed, FeedKind, FileSource, IngestionRun
from .ingest_csv import mapping_errors
from .runs import ingestion_submit

logger = logging.getLogger(__name__)

POLL_TASK = "rcm_feeds.tasks.feeds_poll"
PROCESSED = "processed"
SKIPPED_SUFFIXES = (".part", ".tmp", ".filepart", ".partial", ".crdownload")


def _clean_inbox_dir(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    path = PurePosixPath(value.rstrip("/"))
    odd = any(part in ("..", ".", "") for part in path.parts)
    if path.is_absolute() or "\\" in value or odd or path.parts[0] == PROCESSED:
        raise ValidationError({"inbox_dir": "Use a plain relative folder name such as 'payer-835' (no '..')."})
    return str(path)


def feed_inbox_path(feed: Feed) -> Path | None:
    if not feed.inbox_dir:
        return None
    root = (Path(settings.RCM_INBOX_ROOT) / str(feed.tenant_id)).resolve()
    path = (root / feed.inbox_dir).resolve()
    if not path.is_relative_to(root):
        raise ValidationError({"inbox_dir": "The inbox must be inside the organization's inbox folder."})
    return path


def _schedule_name(feed: Feed) -> str:
    return f"Poll RCM feed {feed.pk}: {feed.name}"[:120]


@transaction.atomic
def feed_save(*, name: str, kind: str, inbox_dir: str = "", crontab: str = "*/15 * * * *",
              column_mapping: dict[str, str] | None = None, source_program: Program | None = None,
              strict_validation: bool = False, is_active: bool = True, feed: Feed | None = None) -> Feed:
    """Create or update a feed and its polling schedule (a TenantSchedule mirrored into celery-beat)."""
    require_tenant_id()
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the feed a name."})
    if kind not in FeedKind.values:
        raise ValidationError({"kind": f"{kind!r} is not one of {', '.join(FeedKind.values)}."})
    if feed is not None and feed.pk and feed.kind != kind and feed.files.exists():
        raise ValidationError({"kind": "A feed that has received files cannot change its kind; add a new feed."})
    mapping = column_mapping or {}
    errors = mapping_errors(kind, mapping)
    if errors:
        raise ValidationError({"column_mapping": errors})
    inbox_dir = _clean_inbox_dir(inbox_dir)
    if inbox_dir and Feed.objects.filter(inbox_dir=inbox_dir).exclude(pk=getattr(feed, "pk", None)).exists():
        raise ValidationError({"inbox_dir": "Another feed already uses this inbox folder."})
    if Feed.objects.filter(name=name).exclude(pk=getattr(feed, "pk", None)).exists():
        raise ValidationError({"name": "Another feed has this name."})
    feed = feed or Feed()
    feed.name, feed.kind, feed.inbox_dir, feed.crontab = name, kind, inbox_dir, crontab.strip()
    feed.column_mapping = {k: v.strip() for k, v in mapping.items() if v.strip()}
    feed.source_program = source_program
    feed.strict_validation, feed.is_active = strict_validation, is_active
    feed.save()
    feed.schedule = schedule_save(
        name=_schedule_name(feed), task=POLL_TASK, crontab=feed.crontab, enabled=is_active and bool(inbox_dir),
        kwargs={"feed_id": feed.pk}, schedule=feed.schedule,
    )
    feed.save(update_fields=["schedule"])
    inbox = feed_inbox_path(feed)
    if inbox is not None:
        (inbox / PROCESSED).mkdir(parents=True, exist_ok=True)
    return feed


@transaction.atomic
def feed_delete(*, feed: Feed) -> None:
    """Delete a feed that never received a file (one that did keeps its history: deactivate it)."""
    if feed.files.exists():
        raise ValidationError("This feed has received files, which are kept with their runs: deactivate it instead.")
    schedule = feed.schedule
    feed.delete()
    if schedule is not None:
        schedule_delete(schedule=schedule)


def _settled(entry: os.DirEntry[str], now: float) -> bool:
    name = entry.name
    if name.startswith(".") or name.lower().endswith(SKIPPED_SUFFIXES):
        return False
    if not entry.is_file(follow_symlinks=False):
        return False
    return now - entry.stat(follow_symlinks=False).st_mtime >= settings.RCM_INBOX_SETTLE_SECONDS


def _move_to_processed(path: Path) -> Path:
    processed = path.parent / PROCESSED
    processed.mkdir(exist_ok=True)
    target = processed / path.name
    if target.exists():
        target = processed / f"{path.stem}.{timezone.now():%Y%m%dT%H%M%S%f}{path.suffix}"
    os.replace(path, target)
    return target


def inbox_poll(*, feed: Feed, user: Any | None = None) -> list[IngestionRun]:
    """Receive the feed's settled inbox files, start their runs, move them to ``processed/``."""
    inbox = feed_inbox_path(feed)
    if not feed.is_active or inbox is None or not inbox.is_dir():
        return []
    runs = []
    now = time.time()
    for entry in sorted(os.scandir(inbox), key=lambda e: e.name):
        if not _settled(entry, now):
            continue
        path = Path(entry.path)
        try:
            with path.open("rb") as stream:
                run = ingestion_submit(feed=feed, filename=entry.name, stream=stream, source=FileSource.INBOX,
                                       user=user)
        except OSError:
            logger.exception("feed %s: could not read %s; left in the inbox for the next poll", feed.pk, path)
            continue
        _move_to_processed(path)
        runs.append(run)
    return runs

"""Billing pages (mounted at ``billing/``): the dashboard and KPI trends; feeds, uploads, quarantine."""
from .dashboard import dashboard, denial_claims, export, kpi_trend_fragment, runs_fragment
from .feeds import (
    feed_active,
    feed_delete,
    feed_edit,
    feed_new,
    feed_poll,
    feeds,
    quarantine_discard,
    quarantine_fix,
    upload,
)

__all__ = [
    "dashboard",
    "denial_claims",
    "export",
    "feed_active",
    "feed_delete",
    "feed_edit",
    "feed_new",
    "feed_poll",
    "feeds",
    "kpi_trend_fragment",
    "quarantine_discard",
    "quarantine_fix",
    "runs_fragment",
    "upload",
]

"""Performance analytics and the executive command center: materialized inputs of the dashboard."""
from __future__ import annotations

from django.db import models
from django.utils import timezone

from revops.tenancy import TenantModel


class SnapshotKind(models.TextChoices):
    PIPELINE = "pipeline", "Pipeline as of a date (per owner and month)"
    TERRITORY_BALANCE = "territory_balance", "Balance of the active territory plan"


class Snapshot(TenantModel):
    """A summary the dashboard reads instead of recomputing it on every request: the pipeline as it stood
    on a date (forecasting's history replay and conversion learning) and the territory balance (potential
    over every account). Refreshed by ``analytics.tasks.snapshots_refresh`` and on first read of a date."""

    kind = models.CharField(max_length=24, choices=SnapshotKind.choices)
    as_of = models.DateField()
    computed_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "kind", "as_of"], name="analytics_snapshot_unique")]

    def __str__(self) -> str:
        return f"{self.kind} as of {self.as_of}"


class PipelineMonth(TenantModel):
    """The pipeline snapshot of a date as rows the dashboard sums per request (a period's months, per owner):
    written with the ``pipeline`` snapshot by ``analytics.services.snapshot_refresh`` from the same figures as
    its payload. Money in cents (exact: the payload's amounts are rounded to the cent), summed as integers.

    ``close_cents`` / ``opportunities``: the open pipeline on ``as_of`` by expected-close month (the period
    pipeline); ``landing_cents``: the weighted amount expected to land that month (the forecast's rest)."""

    as_of = models.DateField()
    owner = models.ForeignKey("revops.Person", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    close_cents = models.BigIntegerField(default=0)
    opportunities = models.IntegerField(default=0)
    landing_cents = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "as_of", "month", "owner"],
                                               name="analytics_pipelinemonth_unique")]

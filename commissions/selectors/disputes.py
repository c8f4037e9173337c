"""Reads of disputes: who is asking (a ``Viewer``), the queue, one dispute with its thread, badge counts,
and the line a new dispute is about.

A rep (resource ``commission_disputes``) reads only disputes and lines of the person linked to their
membership; an unlinked rep reads nothing. Every other role that may view reads the organization's all.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, IntegerField, Max, Q, QuerySet, Value, When

from revops.models import Membership, Person, Role

from ..models import CommissionPeriod, Dispute, DisputeMessage, DisputeStatus, LineItem

RESOURCE = "commission_disputes"
# Roles that read and act only on their own person's lines and disputes.
OWN_ONLY_ROLES = frozenset({Role.REP})


@dataclass(frozen=True)
class Viewer:
    """Who reads or acts: their role in the active organization and the person linked to their membership."""

    user: Any
    role: str | None
    person_id: int | None = None
    people: frozenset[int] = field(default_factory=frozenset)

    @property
    def own_only(self) -> bool:
        return self.role in OWN_ONLY_ROLES

    def owns(self, person_id: int | None) -> bool:
        return person_id is not None and person_id in self.people


def viewer_for(user: Any, *, membership: Membership | None = None) -> Viewer:
    """The viewer for ``user`` in the active organization (``membership`` when the request already has it)."""
    if membership is None and getattr(user, "pk", None):
        membership = Membership.objects.filter(user_id=user.pk, is_active=True).first()
    if membership is None or not membership.is_active:
        return Viewer(user=user, role=None)
    person_id = membership.person_id
    return Viewer(user=user, role=membership.role, person_id=person_id,
                  people=frozenset({person_id}) if person_id else frozenset())


def viewer_from_request(request: Any) -> Viewer:
    """The request's viewer (API keys carry no membership: integrators have no dispute rights)."""
    user = request.user if getattr(request.user, "is_authenticated", False) else None
    membership = getattr(request, "membership", None)
    if membership is None:
        return Viewer(user=user, role=getattr(request, "role", None))
    return viewer_for(user, membership=membership)


def _scoped(queryset: QuerySet[Any], viewer: Viewer, person_field: str) -> QuerySet[Any]:
    if viewer.own_only:
        return queryset.filter(**{f"{person_field}__in": sorted(viewer.people)})
    return queryset


def disputes_visible(*, viewer: Viewer) -> QuerySet[Dispute]:
    """Every dispute ``viewer`` may read, with what the queue and the detail page show."""
    queryset = Dispute.objects.select_related("period", "person", "transaction", "component", "opened_by",
                                              "resolved_by")
    return _scoped(queryset, viewer, "person_id")


def dispute_queue(*, viewer: Viewer, status: str = "", person: int | None = None,
                  period: int | None = None) -> QuerySet[Dispute]:
    """The queue: open disputes first (oldest question first), then the rest, newest first."""
    queryset = disputes_visible(viewer=viewer).annotate(
        message_count=Count("messages"), last_message_at=Max("messages__created_at"),
        open_first=Case(When(status=DisputeStatus.OPEN, then=Value(0)), default=Value(1),
                        output_field=IntegerField()),
    )
    if status:
        queryset = queryset.filter(status=status)
    if person:
        queryset = queryset.filter(person_id=person)
    if period:
        queryset = queryset.filter(period_id=period)
    # Open ones are answered oldest first; closed ones are history, newest first.
    return queryset.order_by("open_first", Case(When(status=DisputeStatus.OPEN, then="opened_at")),
                             "-resolved_at", "-opened_at", "-id")


def dispute_thread(*, dispute: Dispute) -> QuerySet[DisputeMessage]:
    """The dispute's messages in the order they were written (system messages have no author)."""
    return DisputeMessage.objects.filter(dispute=dispute).select_related("author").order_by("created_at", "id")


def message_visible(*, viewer: Viewer, pk: int) -> DisputeMessage | None:
    """A message whose dispute ``viewer`` may read (for attachment downloads), else None."""
    message = DisputeMessage.objects.select_related("dispute").filter(pk=pk).first()
    if message is None:
        return None
    if viewer.own_only and not viewer.owns(message.dispute.person_id):
        return None
    return message


def dispute_counts(*, viewer: Viewer) -> dict[str, int]:
    """Disputes by status for a badge (``open`` is the number waiting for an answer)."""
    rows = dict(disputes_visible(viewer=viewer).order_by().values_list("status").annotate(n=Count("id")))
    counts = {status: int(rows.get(status, 0)) for status in DisputeStatus.values}
    counts["total"] = sum(counts.values())
    return counts


def line_disputable(*, viewer: Viewer, line_id: Any) -> LineItem | None:
    """The line ``viewer`` may open a dispute about (a rep: only their own person's), else None."""
    try:
        pk = int(line_id)
    except (TypeError, ValueError):
        return None
    queryset = LineItem.objects.select_related("period", "person", "component", "transaction", "version__plan")
    return _scoped(queryset, viewer, "person_id").filter(pk=pk).first()


def open_dispute_for_line(*, line: LineItem) -> Dispute | None:
    """An open dispute already asking about this line (the same line row, or the same key in its period)."""
    key = Q(period_id=line.period_id, person_id=line.person_id, line_kind=line.kind,
            transaction_id=line.transaction_id, component_id=line.component_id)
    same_amount = Q(amount_disputed=line.amount)
    return (Dispute.objects.filter(status=DisputeStatus.OPEN)
            .filter(Q(line_id=line.pk) | (key & same_amount)).order_by("id").first())


def filter_choices(*, viewer: Viewer) -> dict[str, Any]:
    """People and periods that have disputes the viewer reads (the queue's filters)."""
    visible = disputes_visible(viewer=viewer)
    people = Person.objects.filter(pk__in=visible.values("person_id")).order_by("last_name", "first_name")
    periods = CommissionPeriod.objects.filter(pk__in=visible.values("period_id")).order_by("-start")
    return {"people": list(people), "periods": list(periods), "statuses": DisputeStatus.choices}

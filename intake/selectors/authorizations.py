"""Authorizations with units used (set-based, from the admission's claim lines), reviews due, and the
authorization denials of admissions linked back to the authorization that covered (or failed to cover) them.

**Units used** of an authorization: over the claim lines of the admission's linked claims (current versions)
whose service date (the line's, else the claim's first service date) falls within the authorization's dates:
for ``days`` the number of distinct service dates, for ``units`` the sum of line units (a line without units
counts 1). **Remaining** = granted - used; **exhausted** when used >= granted.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.expressions import RawSQL

from revops.tenancy import require_tenant_id

from ..models import Admission, Authorization
from .common import AUTH_CARCS, EXCEEDED_CARCS, counted_denials, current_version, rows

UNITS_USED_SQL = f"""(
    SELECT CASE WHEN intake_authorization.unit_kind = 'days' THEN count(DISTINCT u.day)::numeric
                ELSE coalesce(sum(u.units), 0) END
    FROM (
        SELECT coalesce(cl.service_date, c.service_from) AS day, coalesce(cl.units, 1) AS units
        FROM intake_admissionclaim l
        JOIN rcm_feeds_claim c ON c.id = l.claim_id AND c.tenant_id = l.tenant_id
        JOIN rcm_feeds_claimline cl ON cl.claim_id = c.id AND cl.tenant_id = c.tenant_id
        WHERE l.tenant_id = intake_authorization.tenant_id AND l.admission_id = intake_authorization.admission_id
          AND {current_version("c")}
    ) u
    WHERE u.day BETWEEN intake_authorization.starts_on AND intake_authorization.ends_on
)"""


def authorizations_with_usage(qs: QuerySet[Authorization] | None = None) -> QuerySet[Authorization]:
    """``qs`` (default: all) annotated with ``units_used`` and ``units_remaining``."""
    qs = Authorization.objects.all() if qs is None else qs
    return (qs.select_related("admission", "admission__program", "payer")
            .annotate(units_used=RawSQL(UNITS_USED_SQL, (), output_field=DecimalField(max_digits=12, decimal_places=2)))
            .annotate(units_remaining=ExpressionWrapper(F("units_granted") - F("units_used"),
                                                        output_field=DecimalField(max_digits=12, decimal_places=2))))


def week_bounds(today: dt.date) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of ``today``'s week."""
    monday = today - dt.timedelta(days=today.weekday())
    return monday, monday + dt.timedelta(days=6)


def reviews_due(*, today: dt.date) -> QuerySet[Authorization]:
    """Authorizations whose next review falls in ``today``'s week (Monday-Sunday), or is already past while the
    authorization is still running (overdue), soonest first."""
    monday, sunday = week_bounds(today)
    return (authorizations_with_usage()
            .filter(Q(next_review_on__range=(monday, sunday)) | Q(next_review_on__lt=monday, ends_on__gte=today))
            .order_by("next_review_on", "auth_number"))


def authorization_denials(*, admission: Admission | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Counted denials of linked claims for missing or exhausted authorization (category ``authorization`` or a
    CARC 15, 62, 197, 198), each with its admission and the authorization whose dates covered the claim's first
    service date. ``kind``: ``exceeded`` when a CARC says so (198) or the covering authorization is used up,
    ``absent`` otherwise (no authorization covered the service, or the payer says none was on file)."""
    params: dict[str, Any] = {"t": require_tenant_id(), "carcs": list(AUTH_CARCS), "exceeded": list(EXCEEDED_CARCS),
                              "adm": admission.pk if admission else None}
    usage = UNITS_USED_SQL.replace("intake_authorization", "au")
    claim_ids = ("SELECT l.claim_id FROM intake_admissionclaim l WHERE l.tenant_id = %(t)s"
                 + (" AND l.admission_id = %(adm)s" if admission else ""))
    sql = f"""
        WITH den AS ({counted_denials(claim_ids)})
        SELECT den.id AS denial_id, den.denied_on, den.carc_codes, den.category, den.level, den.denied_charge,
               den.status, c.id AS claim_id, c.patient_control_number, c.service_from, c.service_to,
               a.id AS admission_id, a.external_id AS admission_external_id, p.name AS program,
               py.name AS payer, au.auth_id, au.auth_number, au.units_granted, au.units_used,
               CASE WHEN den.carc_codes && %(exceeded)s::varchar[] OR au.units_used >= au.units_granted
                    THEN 'exceeded' ELSE 'absent' END AS kind
        FROM den
        JOIN rcm_feeds_claim c ON c.id = den.claim_id AND c.tenant_id = %(t)s
        JOIN intake_admissionclaim l ON l.claim_id = c.id AND l.tenant_id = %(t)s
        JOIN intake_admission a ON a.id = l.admission_id AND a.tenant_id = %(t)s
        JOIN revops_program p ON p.id = a.program_id
        LEFT JOIN revops_payer py ON py.id = c.payer_id
        LEFT JOIN LATERAL (
            SELECT au.id AS auth_id, au.auth_number, au.units_granted, {usage} AS units_used
            FROM intake_authorization au
            WHERE au.tenant_id = %(t)s AND au.admission_id = a.id AND c.service_from BETWEEN au.starts_on AND au.ends_on
            ORDER BY au.starts_on DESC, au.id DESC LIMIT 1
        ) au ON true
        WHERE den.category = 'authorization' OR den.carc_codes && %(carcs)s::varchar[]
        ORDER BY den.denied_on DESC, den.id DESC
        {"LIMIT %(limit)s" if limit else ""}
    """
    params["limit"] = limit
    out = rows(sql, params)
    for r in out:
        r["denied_charge"] = r["denied_charge"] or Decimal("0")
    return out

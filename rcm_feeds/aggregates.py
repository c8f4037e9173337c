"""Monthly pre-aggregates of the RCM tables that the KPI queries read (rebuilt per tenant and month).

Three tables (migration 0003), keyed by (tenant, month, payer, program, facility):

- ``rcm_feeds_kpi_monthly``: additive measures of claims (by submission month), remittances
  (by payment month), A/R snapshots (month of the snapshot) and revenue-cycle cost, and the payments and
  charges of clean claims (by submission month: intake's payer clean yield, migration 0008);
- ``rcm_feeds_denial_monthly``: initial denials by denial month, category and first CARC;
- ``rcm_feeds_denial_resolution_monthly``: resolved denials by denial month and days to resolve
  (a histogram, so the median stays exact after aggregation).

``FACTS_SQL`` / ``DENIAL_FACTS_SQL`` / ``RESOLUTION_FACTS_SQL`` compute those rows from the raw
tables (``FACTS_SQL`` without the clean-yield measures, which no KPI reads); ``aggregates_refresh`` replaces the rows of the given months with them in one
transaction. A claim's submission-month facts depend on remittances that arrive later, so after
loading a file call ``aggregates_refresh(months=months_touched_by_file(file_id))``: that set
includes the submission months of every claim the file's remittances and denials point at.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from django.db import connection, transaction

from revops.tenancy import require_tenant_id

KPI_MEASURES: tuple[str, ...] = (
    "claims_submitted", "charges_submitted", "clean_claims", "claims_adjudicated", "first_pass_claims",
    "claims_denied_initial", "charges_denied_initial", "remit_charges", "payments", "contractual",
    "paid_claims", "days_to_pay_sum", "ar_total", "ar_over_90", "rcm_cost", "clean_paid", "clean_charges",
)


def _branch(select_dims: str, measures: dict[str, str], rest: str) -> str:
    cols = ", ".join(f"{measures.get(m, '0')} AS {m}" for m in KPI_MEASURES)
    return f"SELECT {select_dims}, {cols} {rest}"


# Where a facts query restricts a date to the months being refreshed, it says so with this
# marker; ``with_months`` turns it into plain date ranges (sargable on the (tenant, date)
# indexes and, above all, estimated right: ``date_trunc(...) = ANY(...)`` made the planner
# expect 47 claims of 9,710 and re-run the first-denials aggregate once per claim, 15 s after
# a 10,000-claim 835) or into ``true`` for every month.
_MONTHS_MARK = re.compile(r"/\*in_months\*/(.*?)/\*end\*/", re.S)


def _in_months(expr: str) -> str:
    return f"/*in_months*/{expr}/*end*/"


def month_ranges(months: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Half-open [first day, first day after) ranges covering the months of ``months``, merged."""
    ranges: list[tuple[dt.date, dt.date]] = []
    for first in sorted({d.replace(day=1) for d in months}):
        after = (first + dt.timedelta(days=32)).replace(day=1)
        if ranges and ranges[-1][1] == first:
            ranges[-1] = (ranges[-1][0], after)
        else:
            ranges.append((first, after))
    return ranges


def with_months(sql_text: str, months: Iterable[dt.date] | None) -> str:
    """``sql_text`` restricted to ``months`` (None: every month). Dates are formatted from date objects."""
    if months is None:
        return _MONTHS_MARK.sub("true", sql_text)
    ranges = month_ranges(months)
    if not ranges:
        return _MONTHS_MARK.sub("false", sql_text)

    def predicate(match: re.Match[str]) -> str:
        expr = match.group(1)
        return "(" + " OR ".join(f"({expr} >= DATE '{lo.isoformat()}' AND {expr} < DATE '{hi.isoformat()}')"
                                 for lo, hi in ranges) + ")"

    return _MONTHS_MARK.sub(predicate, sql_text)


def months_predicate(expr: str, months: Iterable[dt.date] | None) -> str:
    """One SQL predicate: the date ``expr`` lies in one of ``months`` (None: always true); for summaries refreshed
    by month elsewhere (intake's program money, contracts' underpayment)."""
    return with_months(_in_months(expr), months)


# A claim counts once, as an original submission: not a replacement (7) or void (8), not a
# repeat of an earlier control number. Its first adjudication is its earliest non-reversal
# claim payment (by remittance date, then load order).
_ORIGINALS = f"""
    SELECT c.id, date_trunc('month', c.submitted_on)::date AS month, c.payer_id, c.program_id, c.facility_id,
           c.charge, c.front_end_status,
           EXISTS (SELECT 1 FROM rcm_feeds_claim x WHERE x.original_claim_id = c.id) AS corrected
    FROM rcm_feeds_claim c
    WHERE c.tenant_id = %(tenant)s AND NOT c.is_resubmission AND c.frequency NOT IN ('7', '8')
      AND {_in_months('c.submitted_on')}
"""
_FIRST_ADJUDICATION = """
    SELECT DISTINCT ON (cp.claim_id) cp.claim_id, cp.id AS claim_payment_id
    FROM rcm_feeds_claimpayment cp JOIN rcm_feeds_remittance r ON r.id = cp.remittance_id
    WHERE cp.tenant_id = %(tenant)s AND cp.claim_id IN (SELECT id FROM originals) AND NOT cp.is_reversal
    ORDER BY cp.claim_id, coalesce(r.payment_date, r.production_date) NULLS LAST, cp.id
"""
# Denials raised on a first adjudication: a claim-level denial denies the claim (its charge);
# otherwise the denied lines' charges count.
_FIRST_DENIALS = """
    SELECT d.claim_payment_id,
           bool_or(d.level = 'claim') AS claim_denied,
           CASE WHEN bool_or(d.level = 'claim') THEN sum(d.denied_charge) FILTER (WHERE d.level = 'claim')
                ELSE sum(d.denied_charge) END AS denied_charge
    FROM rcm_feeds_denial d
    WHERE d.tenant_id = %(tenant)s AND d.claim_payment_id IN (SELECT claim_payment_id FROM first_adjudication)
    GROUP BY d.claim_payment_id
"""
_CLAIM_BRANCH = _branch(
    "o.month, o.payer_id, o.program_id, o.facility_id",
    {
        "claims_submitted": "1",
        "charges_submitted": "o.charge",
        "clean_claims": "CASE WHEN o.front_end_status <> 'rejected' AND NOT o.corrected THEN 1 ELSE 0 END",
        "claims_adjudicated": "CASE WHEN fa.claim_id IS NOT NULL THEN 1 ELSE 0 END",
        "first_pass_claims": "CASE WHEN fa.claim_id IS NOT NULL AND fd.claim_payment_id IS NULL AND NOT o.corrected "
                             "THEN 1 ELSE 0 END",
        "claims_denied_initial": "CASE WHEN fd.claim_denied THEN 1 ELSE 0 END",
        "charges_denied_initial": "coalesce(fd.denied_charge, 0)",
    },
    "FROM originals o LEFT JOIN first_adjudication fa ON fa.claim_id = o.id "
    "LEFT JOIN first_denials fd ON fd.claim_payment_id = fa.claim_payment_id",
)
# Remittance facts by payment month. Reversals (CLP02 = 22) carry negated amounts and net out.
# Contractual adjustments are CAS group CO on claims and lines that are not denied (a denial
# write-off is not contractual).
_REMIT_BRANCH = _branch(
    "date_trunc('month', coalesce(r.payment_date, r.production_date))::date, coalesce(c.payer_id, r.payer_id), "
    "c.program_id, c.facility_id",
    {
        "remit_charges": "cp.charge",
        "payments": "cp.paid",
        "contractual": """coalesce((
            SELECT sum(a.amount) FROM rcm_feeds_adjustment a
            LEFT JOIN rcm_feeds_servicepayment sp ON sp.id = a.service_payment_id
            WHERE a.claim_payment_id = cp.id AND a.tenant_id = %(tenant)s AND a.group_code = 'CO'
              AND NOT cp.is_denied AND NOT coalesce(sp.is_denied, false)), 0)""",
    },
    f"""FROM rcm_feeds_claimpayment cp JOIN rcm_feeds_remittance r ON r.id = cp.remittance_id
        LEFT JOIN rcm_feeds_claim c ON c.id = cp.claim_id
        WHERE cp.tenant_id = %(tenant)s AND coalesce(r.payment_date, r.production_date) IS NOT NULL
          AND {_in_months('coalesce(r.payment_date, r.production_date)')}""",
)
# Days to pay: from a claim's submission to its first payment (paid > 0, not a reversal),
# counted in the month of that payment.
_DAYS_TO_PAY_BRANCH = _branch(
    "date_trunc('month', fp.paid_on)::date, c.payer_id, c.program_id, c.facility_id",
    {"paid_claims": "1", "days_to_pay_sum": "(fp.paid_on - c.submitted_on)"},
    f"""FROM (
          SELECT DISTINCT ON (cp.claim_id) cp.claim_id, coalesce(r.payment_date, r.production_date) AS paid_on
          FROM rcm_feeds_claimpayment cp JOIN rcm_feeds_remittance r ON r.id = cp.remittance_id
          WHERE cp.tenant_id = %(tenant)s AND cp.claim_id IS NOT NULL AND NOT cp.is_reversal AND cp.paid > 0
            AND coalesce(r.payment_date, r.production_date) IS NOT NULL
            -- a claim first paid in one of the months has a payment in it: only those claims
            AND cp.claim_id IN (
                SELECT p2.claim_id FROM rcm_feeds_claimpayment p2 JOIN rcm_feeds_remittance r2 ON r2.id = p2.remittance_id
                WHERE p2.tenant_id = %(tenant)s AND p2.paid > 0 AND NOT p2.is_reversal
                  AND {_in_months('coalesce(r2.payment_date, r2.production_date)')})
          ORDER BY cp.claim_id, coalesce(r.payment_date, r.production_date), cp.id
        ) fp JOIN rcm_feeds_claim c ON c.id = fp.claim_id
        WHERE {_in_months('fp.paid_on')}""",
)
# A/R: the organization's last snapshot of each month; aging starts from the billed date.
_AR_BRANCH = _branch(
    "date_trunc('month', ar.as_of)::date, ar.payer_id, ar.program_id, ar.facility_id",
    {"ar_total": "ar.balance", "ar_over_90": "CASE WHEN ar.as_of - ar.billed_on > 90 THEN ar.balance ELSE 0 END"},
    f"""FROM rcm_feeds_arbalance ar
        JOIN (SELECT max(x.as_of) AS as_of FROM rcm_feeds_arbalance x
              WHERE x.tenant_id = %(tenant)s AND {_in_months('x.as_of')}
              GROUP BY date_trunc('month', x.as_of)) last ON last.as_of = ar.as_of
        WHERE ar.tenant_id = %(tenant)s""",
)
_COST_BRANCH = _branch(
    "date_trunc('month', rc.month)::date, NULL::bigint, NULL::bigint, rc.facility_id",
    {"rcm_cost": "rc.amount"},
    f"FROM rcm_feeds_rcmcost rc WHERE rc.tenant_id = %(tenant)s AND {_in_months('rc.month')}",
)

# The payer's clean yield (intake's "net revenue on paper", docs/intake.md) = clean payments / clean charges
# over every claim that is a current version (not a void, not replaced: intake.selectors.common.current_version),
# adjudicated (it has a claim payment; every payment counts, reversals net out) and never denied (no denial
# row at all, whatever its status), by the claim's submission month. A claim leaves or enters the set when a
# correction, a payment or a denial arrives for it: ``months_touched_by_file`` includes the submission month
# of the claim a file corrects (``original_claim_id``), pays or denies, so the refresh after that file keeps
# these measures right.
_CLEAN_BRANCH = _branch(
    "date_trunc('month', c.submitted_on)::date, c.payer_id, c.program_id, c.facility_id",
    {"clean_paid": "p.paid", "clean_charges": "c.charge"},
    f"""FROM rcm_feeds_claim c
        JOIN (SELECT cp.claim_id, sum(cp.paid) AS paid
              FROM rcm_feeds_claimpayment cp JOIN rcm_feeds_claim c2 ON c2.id = cp.claim_id
              WHERE cp.tenant_id = %(tenant)s AND c2.tenant_id = %(tenant)s AND {_in_months('c2.submitted_on')}
              GROUP BY cp.claim_id) p ON p.claim_id = c.id
        WHERE c.tenant_id = %(tenant)s AND c.frequency <> '8' AND {_in_months('c.submitted_on')}
          AND NOT EXISTS (SELECT 1 FROM rcm_feeds_claim x WHERE x.tenant_id = c.tenant_id AND x.original_claim_id = c.id)
          AND NOT EXISTS (SELECT 1 FROM rcm_feeds_denial d WHERE d.tenant_id = %(tenant)s AND d.claim_id = c.id)""",
)

_SUMS = ", ".join(f"sum({m}) AS {m}" for m in KPI_MEASURES)
_FACT_COLUMNS = f"month, payer_id, program_id, facility_id, {', '.join(KPI_MEASURES)}"


def _facts(*branches: str) -> str:
    return f"""
    WITH originals AS ({_ORIGINALS}),
         first_adjudication AS ({_FIRST_ADJUDICATION}),
         first_denials AS ({_FIRST_DENIALS})
    SELECT %(tenant)s::bigint AS tenant_id, month, payer_id, program_id, facility_id, {_SUMS}
    FROM ({" UNION ALL ".join(branches)}) f ({_FACT_COLUMNS})
    GROUP BY month, payer_id, program_id, facility_id
"""


_FACTS = _facts(_CLAIM_BRANCH, _REMIT_BRANCH, _DAYS_TO_PAY_BRANCH, _AR_BRANCH, _COST_BRANCH, _CLEAN_BRANCH)
# What the KPI queries read from the raw tables (``source="raw"``): the same rows without the clean-yield
# branch, which no KPI reads (its columns are 0 there).
_KPI_FACTS = _facts(_CLAIM_BRANCH, _REMIT_BRANCH, _DAYS_TO_PAY_BRANCH, _AR_BRANCH, _COST_BRANCH)

# Denials by denial month (the overturn-rate cohort), category and first CARC.
_DENIAL_FACTS = f"""
    SELECT %(tenant)s::bigint AS tenant_id, date_trunc('month', d.denied_on)::date AS month, d.payer_id,
           d.program_id, c.facility_id, d.category, coalesce(d.carc_codes[1], '') AS carc,
           count(*) AS denials, sum(d.denied_charge) AS denied_charge,
           count(*) FILTER (WHERE d.status = 'overturned') AS overturned,
           count(*) FILTER (WHERE d.status IN ('overturned', 'written_off') AND d.resolved_on IS NOT NULL) AS resolved
    FROM rcm_feeds_denial d LEFT JOIN rcm_feeds_claim c ON c.id = d.claim_id
    WHERE d.tenant_id = %(tenant)s AND {_in_months('d.denied_on')}
    GROUP BY 2, 3, 4, 5, 6, 7
"""
_RESOLUTION_FACTS = f"""
    SELECT %(tenant)s::bigint AS tenant_id, date_trunc('month', d.denied_on)::date AS month, d.payer_id,
           d.program_id, c.facility_id, (d.resolved_on - d.denied_on) AS days, count(*) AS resolved
    FROM rcm_feeds_denial d LEFT JOIN rcm_feeds_claim c ON c.id = d.claim_id
    WHERE d.tenant_id = %(tenant)s AND d.status IN ('overturned', 'written_off') AND d.resolved_on IS NOT NULL
      AND {_in_months('d.denied_on')}
    GROUP BY 2, 3, 4, 5, 6
"""

# Every month: what the KPI module reads when it computes from the raw tables.
FACTS_SQL = with_months(_KPI_FACTS, None)
DENIAL_FACTS_SQL = with_months(_DENIAL_FACTS, None)
RESOLUTION_FACTS_SQL = with_months(_RESOLUTION_FACTS, None)

_TARGETS = (
    ("rcm_feeds_kpi_monthly", _FACTS,
     "tenant_id, month, payer_id, program_id, facility_id, " + ", ".join(KPI_MEASURES)),
    ("rcm_feeds_denial_monthly", _DENIAL_FACTS,
     "tenant_id, month, payer_id, program_id, facility_id, category, carc, denials, denied_charge, overturned, "
     "resolved"),
    ("rcm_feeds_denial_resolution_monthly", _RESOLUTION_FACTS,
     "tenant_id, month, payer_id, program_id, facility_id, days, resolved"),
)


def month_params(tenant_id: int, months: Iterable[dt.date] | None) -> dict[str, object]:
    """Query parameters of the facts SQL: every month (None) or the months of the given dates."""
    if months is None:
        return {"tenant": tenant_id, "all_months": True, "months": []}
    firsts = sorted({d.replace(day=1) for d in months})
    return {"tenant": tenant_id, "all_months": False, "months": firsts}


@transaction.atomic
def aggregates_refresh(*, months: Iterable[dt.date] | None = None) -> int:
    """Rebuild the active tenant's aggregates for ``months`` (any date in each; None = all). Rows written."""
    tenant_id = require_tenant_id()
    months = None if months is None else sorted({d.replace(day=1) for d in months})
    params = month_params(tenant_id, months)
    if months is not None and not months:
        return 0
    written = 0
    with connection.cursor() as cursor:
        # The facts queries look expensive to the planner, which then JIT-compiles them: seconds
        # of compilation for work that takes a fraction of that (measured in bench/kpi_query.py).
        cursor.execute("SET LOCAL jit = off")
        for table, select, columns in _TARGETS:
            cursor.execute(
                f"DELETE FROM {table} WHERE tenant_id = %(tenant)s "
                "AND (%(all_months)s OR month = ANY(%(months)s::date[]))",
                params,
            )
            cursor.execute(f"INSERT INTO {table} ({columns}) {with_months(select, months)}", params)
            written += cursor.rowcount
    # Program profitability's summary of the linked claims' money (intake.models.ProgramClaimMoney) moves with
    # the same loads, corrections, payments and denials: refreshed here, in the same transaction, for the service
    # months of the claims of these months.
    from intake.services import program_money_refresh_after_rcm

    program_money_refresh_after_rcm(months=months)
    return written


def clean_yield_backfill() -> int:
    """Rebuild every organization's aggregates (all months) once: migration 0008 added the clean-yield measures,
    which existing rows hold as 0 until then. Organizations without claims are skipped. Organizations done."""
    from revops.tenancy import each_organization_with_rows

    return each_organization_with_rows("rcm_feeds_claim", aggregates_refresh)


MONTHS_TOUCHED_SQL = """
    SELECT DISTINCT date_trunc('month', d)::date FROM (
        SELECT c.submitted_on AS d FROM rcm_feeds_claim c WHERE c.tenant_id = %(tenant)s AND c.source_file_id = %(file)s
        UNION ALL
        SELECT o.submitted_on FROM rcm_feeds_claim c JOIN rcm_feeds_claim o ON o.id = c.original_claim_id
        WHERE c.tenant_id = %(tenant)s AND c.source_file_id = %(file)s
        UNION ALL
        SELECT coalesce(r.payment_date, r.production_date) FROM rcm_feeds_remittance r
        WHERE r.tenant_id = %(tenant)s AND r.source_file_id = %(file)s
        UNION ALL
        SELECT c.submitted_on FROM rcm_feeds_remittance r
        JOIN rcm_feeds_claimpayment cp ON cp.remittance_id = r.id JOIN rcm_feeds_claim c ON c.id = cp.claim_id
        WHERE r.tenant_id = %(tenant)s AND r.source_file_id = %(file)s
        UNION ALL
        SELECT d.denied_on FROM rcm_feeds_remittance r
        JOIN rcm_feeds_claimpayment cp ON cp.remittance_id = r.id JOIN rcm_feeds_denial d ON d.claim_payment_id = cp.id
        WHERE r.tenant_id = %(tenant)s AND r.source_file_id = %(file)s
        UNION ALL
        SELECT d.denied_on FROM rcm_feeds_remittance r
        JOIN rcm_feeds_claimpayment cp ON cp.remittance_id = r.id JOIN rcm_feeds_denial d ON d.claim_id = cp.claim_id
        WHERE r.tenant_id = %(tenant)s AND r.source_file_id = %(file)s
        UNION ALL
        SELECT a.as_of FROM rcm_feeds_arbalance a WHERE a.tenant_id = %(tenant)s AND a.source_file_id = %(file)s
        UNION ALL
        SELECT k.month FROM rcm_feeds_rcmcost k WHERE k.tenant_id = %(tenant)s AND k.source_file_id = %(file)s
        UNION ALL
        SELECT c.submitted_on FROM rcm_feeds_acknowledgment a JOIN rcm_feeds_claim c ON c.id = a.claim_id
        WHERE a.tenant_id = %(tenant)s AND a.source_file_id = %(file)s
    ) touched WHERE d IS NOT NULL
"""


def months_touched_by_file(file_id: int) -> list[dt.date]:
    """Months whose aggregates a loaded file can change (including earlier claims it pays or denies)."""
    with connection.cursor() as cursor:
        cursor.execute(MONTHS_TOUCHED_SQL, {"tenant": require_tenant_id(), "file": file_id})
        return sorted(row[0] for row in cursor.fetchall())

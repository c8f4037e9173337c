"""Expected reimbursement of every claim and line, materialized set-based (three SQL statements per chunk).

For each claim in scope: the contract in force on its service date (precedence: single-case agreement,
then a plan-specific contract, then the payer-wide one), its published version, and what the 835s paid
(CLP04 and CLP05, reversals netted). For each line: the term that prices it (a case rate, else a per
diem, else a fee schedule rate, else percent of charges) and the expected amount, rounded half-up to the
cent once per line; the claim's expected amount is the sum of its lines'. docs/contracts.md states every
rule once; ``tests/contracts/reference.py`` is the slow per-claim Python version the tests compare with.

The recompute deletes and re-inserts the rows of the claims in scope inside one transaction, so running
it twice leaves the same rows (idempotent). Work is split in ranges of claim ids only to report progress:
each range is a set-based statement, never a loop over claims.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from rcm_feeds.aggregates import months_predicate
from revops.tenancy import require_tenant_id

CHUNK_CLAIMS = 20_000  # claim ids per statement group: progress granularity, and plans that stay index-driven

NOT_PRICED = ("void", "superseded")

# 1. Claims: service date, plan (from the admission), contract and version in force, payments.
_CLAIMS_SQL = """
INSERT INTO contracts_claimexpectation (
    tenant_id, claim_id, payer_id, program_id, service_date, submitted_on, plan_name, admission_id, contract_id,
    version_id, source, status, charge, expected, lines_total, lines_priced, paid, patient_responsibility,
    adjudicated, denied, computed_at)
WITH sc AS (
    SELECT c.id, c.payer_id, c.program_id, c.patient_hash, c.charge, c.submitted_on, c.frequency,
           coalesce(c.service_from, c.submitted_on) AS dos,
           EXISTS (SELECT 1 FROM rcm_feeds_claim x
                   WHERE x.tenant_id = %(tenant)s AND x.original_claim_id = c.id) AS superseded
    FROM rcm_feeds_claim c
    WHERE c.tenant_id = %(tenant)s AND {claim_scope}
), pay AS (
    SELECT cp.claim_id, sum(cp.paid) AS paid, sum(coalesce(cp.patient_responsibility, 0)) AS pr,
           bool_or(NOT cp.is_reversal) AS adjudicated,
           bool_or(cp.is_denied AND NOT cp.is_reversal) AND sum(cp.paid) <= 0 AS denied
    FROM rcm_feeds_claimpayment cp
    WHERE cp.tenant_id = %(tenant)s AND cp.claim_id IN (SELECT id FROM sc)
    GROUP BY cp.claim_id
)
SELECT %(tenant)s, sc.id, sc.payer_id, sc.program_id, sc.dos, sc.submitted_on, coalesce(a.plan_name, ''), a.id,
       k.contract_id, k.version_id, coalesce(k.source, ''),
       CASE WHEN sc.frequency = '8' THEN 'void' WHEN sc.superseded THEN 'superseded'
            WHEN k.version_id IS NULL THEN 'no_contract' ELSE 'no_term' END,
       sc.charge, NULL, 0, 0, coalesce(p.paid, 0), coalesce(p.pr, 0), coalesce(p.adjudicated, false),
       coalesce(p.denied, false), now()
FROM sc
LEFT JOIN LATERAL (
    SELECT ad.id, ad.plan_name FROM intake_admission ad
    WHERE ad.tenant_id = %(tenant)s AND sc.patient_hash <> '' AND ad.patient_hash = sc.patient_hash
      AND ad.program_id = sc.program_id AND ad.admitted_on <= sc.dos
      AND (ad.discharged_on IS NULL OR ad.discharged_on >= sc.dos)
    ORDER BY ad.admitted_on DESC, ad.id DESC LIMIT 1
) a ON true
LEFT JOIN LATERAL (
    SELECT k.id AS contract_id, v.id AS version_id,
           CASE WHEN k.kind = 'single_case' THEN 'single_case' WHEN k.plan_name <> '' THEN 'plan' ELSE 'payer' END
               AS source
    FROM contracts_contract k
    JOIN contracts_contractversion v ON v.contract_id = k.id AND v.tenant_id = %(tenant)s
    WHERE k.tenant_id = %(tenant)s AND k.payer_id = sc.payer_id AND v.status = 'published'
      AND v.effective_from <= sc.dos AND (v.effective_to IS NULL OR v.effective_to >= sc.dos)
      AND (k.ends_on IS NULL OR k.ends_on >= sc.dos)
      AND ((k.kind = 'single_case' AND k.patient_hash = sc.patient_hash AND k.program_id = sc.program_id)
           OR (k.kind = 'standard' AND (k.plan_name = '' OR k.plan_name = a.plan_name)))
    ORDER BY (k.kind = 'single_case') DESC, (k.plan_name <> '') DESC, v.effective_from DESC, k.id DESC
    LIMIT 1
) k ON true
LEFT JOIN pay p ON p.claim_id = sc.id
"""

# 2. Lines: the term that prices each line and its expected amount; matched 835 service lines.
_LINES_SQL = """
INSERT INTO contracts_lineexpectation (
    tenant_id, claim_id, claim_line_id, line_number, code, service_date, units, charge, term_id, term_kind,
    expected, paid, patient_responsibility, matched)
WITH ce AS (
    SELECT e.claim_id, e.version_id, e.service_date AS dos, e.payer_id, e.program_id, e.admission_id,
           pg.level_of_care AS loc
    FROM contracts_claimexpectation e
    LEFT JOIN revops_program pg ON pg.id = e.program_id
    WHERE e.tenant_id = %(tenant)s AND e.status NOT IN ('void', 'superseded') AND {expectation_scope}
), ln AS (
    SELECT l.id, l.claim_id, l.line_number, coalesce(nullif(l.procedure_code, ''), l.revenue_code) AS code,
           l.modifiers, coalesce(l.service_date, ce.dos) AS day, l.service_date, l.units,
           coalesce(l.units, 1) AS qty, l.charge, ce.version_id
    FROM rcm_feeds_claimline l JOIN ce ON ce.claim_id = l.claim_id
    WHERE l.tenant_id = %(tenant)s
), case_t AS (  -- a case rate for the claim's level of care (or for every level)
    SELECT DISTINCT ON (ce.claim_id) ce.claim_id, t.id AS term_id, t.rate, t.basis
    FROM ce JOIN contracts_contractterm t
      ON t.tenant_id = %(tenant)s AND t.version_id = ce.version_id AND t.kind = 'case_rate'
     AND (t.level_of_care = '' OR t.level_of_care = ce.loc)
    ORDER BY ce.claim_id, (t.level_of_care = ''), t.id
), adm_first AS (  -- per admission and payer: its first claim (a per-admission case rate pays on it)
    SELECT DISTINCT ON (ad.id, c2.payer_id) ad.id AS admission_id, c2.payer_id, c2.id AS claim_id
    FROM intake_admission ad
    JOIN rcm_feeds_claim c2
      ON c2.tenant_id = %(tenant)s AND c2.patient_hash = ad.patient_hash AND c2.program_id = ad.program_id
     AND c2.frequency <> '8' AND coalesce(c2.service_from, c2.submitted_on) >= ad.admitted_on
    WHERE ad.tenant_id = %(tenant)s
      AND ad.id IN (SELECT ce.admission_id FROM ce JOIN case_t USING (claim_id) WHERE case_t.basis = 'per_admission')
      AND NOT EXISTS (SELECT 1 FROM rcm_feeds_claim x WHERE x.tenant_id = %(tenant)s AND x.original_claim_id = c2.id)
    ORDER BY ad.id, c2.payer_id, coalesce(c2.service_from, c2.submitted_on), c2.id
), case_counts AS (  -- per claim: does the case rate pay on this claim?
    SELECT ct.claim_id,
           ct.basis = 'per_claim' OR ce.admission_id IS NULL OR coalesce(af.claim_id = ct.claim_id, false) AS pays
    FROM case_t ct JOIN ce ON ce.claim_id = ct.claim_id
    LEFT JOIN adm_first af ON af.admission_id = ce.admission_id AND af.payer_id = ce.payer_id
), first_line AS (
    SELECT DISTINCT ON (ln.claim_id) ln.claim_id, ln.id FROM ln JOIN case_t USING (claim_id)
    ORDER BY ln.claim_id, ln.line_number, ln.id
), diem_t AS (  -- a per diem for the claim's level of care, unless a case rate covers the claim
    SELECT ce.claim_id, t.id AS term_id, t.rate, t.lesser_of_charges
    FROM ce JOIN contracts_contractterm t
      ON t.tenant_id = %(tenant)s AND t.version_id = ce.version_id AND t.kind = 'per_diem'
     AND t.level_of_care = ce.loc
    WHERE NOT EXISTS (SELECT 1 FROM case_t WHERE case_t.claim_id = ce.claim_id)
), days AS (  -- per diem claims: one payable line per service date (most units, then highest charge);
               -- days = the largest units billed on one line that date
    SELECT ln.id,
           row_number() OVER w_order AS rn,
           max(ln.qty) OVER w_day AS day_units,
           sum(ln.charge) OVER w_day AS day_charge
    FROM ln JOIN diem_t USING (claim_id)
    WINDOW w_day AS (PARTITION BY ln.claim_id, ln.day),
           w_order AS (PARTITION BY ln.claim_id, ln.day ORDER BY ln.qty DESC, ln.charge DESC, ln.line_number, ln.id)
), fee AS (  -- a fee schedule rate for the code: a rate for one of the line's modifiers before the plain one
    SELECT DISTINCT ON (ln.id) ln.id, t.id AS term_id, t.rate
    FROM ln JOIN contracts_contractterm t
      ON t.tenant_id = %(tenant)s AND t.version_id = ln.version_id AND t.kind = 'fee_schedule' AND t.code = ln.code
     AND (t.modifier = '' OR t.modifier = ANY (string_to_array(ln.modifiers, ':')))
    ORDER BY ln.id, (t.modifier = ''), t.id
), pct_t AS (
    SELECT DISTINCT ON (ce.version_id) ce.version_id, t.id AS term_id, t.rate
    FROM ce JOIN contracts_contractterm t
      ON t.tenant_id = %(tenant)s AND t.version_id = ce.version_id AND t.kind = 'percent_of_charges'
    ORDER BY ce.version_id, t.id
), sp AS (  -- 835 service lines of the claims' payments, numbered per payment and code
    SELECT cp.claim_id, coalesce(nullif(s.procedure_code, ''), s.revenue_code) AS code, s.service_date, s.paid,
           coalesce(pr.amount, 0) AS pr,
           row_number() OVER (PARTITION BY s.claim_payment_id, coalesce(nullif(s.procedure_code, ''), s.revenue_code)
                              ORDER BY s.service_date NULLS LAST, s.source_position) AS ord
    FROM rcm_feeds_servicepayment s
    JOIN rcm_feeds_claimpayment cp ON cp.id = s.claim_payment_id AND cp.tenant_id = %(tenant)s
    LEFT JOIN (SELECT a.service_payment_id, sum(a.amount) AS amount FROM rcm_feeds_adjustment a
               WHERE a.tenant_id = %(tenant)s AND a.group_code = 'PR' AND a.service_payment_id IS NOT NULL
                 AND a.claim_payment_id IN (SELECT p.id FROM rcm_feeds_claimpayment p
                                            WHERE p.tenant_id = %(tenant)s AND p.claim_id IN (SELECT claim_id FROM ce))
               GROUP BY a.service_payment_id) pr ON pr.service_payment_id = s.id
    WHERE s.tenant_id = %(tenant)s AND cp.claim_id IN (SELECT claim_id FROM ce)
), lord AS (
    SELECT ln.id, ln.claim_id, ln.code, ln.service_date,
           row_number() OVER (PARTITION BY ln.claim_id, ln.code ORDER BY ln.day, ln.line_number, ln.id) AS ord
    FROM ln
), lpaid AS (
    SELECT lord.id, sum(sp.paid) AS paid, sum(sp.pr) AS pr
    FROM lord JOIN sp ON sp.claim_id = lord.claim_id AND sp.code = lord.code AND sp.ord = lord.ord
     AND (sp.service_date IS NULL OR lord.service_date IS NULL OR sp.service_date = lord.service_date)
    GROUP BY lord.id
)
SELECT %(tenant)s, ln.claim_id, ln.id, ln.line_number, left(coalesce(ln.code, ''), 12), ln.day, ln.units, ln.charge,
       coalesce(ct.term_id, dt.term_id, fee.term_id, pc.term_id),
       CASE WHEN ct.term_id IS NOT NULL THEN 'case_rate' WHEN dt.term_id IS NOT NULL THEN 'per_diem'
            WHEN fee.term_id IS NOT NULL THEN 'fee_schedule' WHEN pc.term_id IS NOT NULL THEN 'percent_of_charges'
            ELSE '' END,
       CASE WHEN ct.term_id IS NOT NULL THEN
                CASE WHEN fl.id = ln.id AND cc.pays THEN round(ct.rate, 2) ELSE 0 END
            WHEN dt.term_id IS NOT NULL THEN
                CASE WHEN d.rn = 1 THEN round(CASE WHEN dt.lesser_of_charges
                                                   THEN least(dt.rate * d.day_units, d.day_charge)
                                                   ELSE dt.rate * d.day_units END, 2)
                     ELSE 0 END
            WHEN fee.term_id IS NOT NULL THEN round(fee.rate * ln.qty, 2)
            WHEN pc.term_id IS NOT NULL THEN round(ln.charge * pc.rate / 100, 2)
       END,
       coalesce(lp.paid, 0), coalesce(lp.pr, 0), lp.id IS NOT NULL
FROM ln
LEFT JOIN case_t ct ON ct.claim_id = ln.claim_id
LEFT JOIN case_counts cc ON cc.claim_id = ln.claim_id
LEFT JOIN first_line fl ON fl.claim_id = ln.claim_id
LEFT JOIN diem_t dt ON dt.claim_id = ln.claim_id
LEFT JOIN days d ON d.id = ln.id
LEFT JOIN fee ON fee.id = ln.id
LEFT JOIN pct_t pc ON pc.version_id = ln.version_id
LEFT JOIN lpaid lp ON lp.id = ln.id
"""

# 3. Claims priced from their lines: expected = sum of the lines' expected amounts.
_ROLLUP_SQL = """
UPDATE contracts_claimexpectation e
SET lines_total = x.n, lines_priced = x.priced,
    expected = CASE WHEN x.priced > 0 THEN x.expected END,
    status = CASE WHEN x.priced = 0 THEN 'no_term' WHEN x.priced < x.n THEN 'partial' ELSE 'priced' END
FROM (SELECT l.claim_id, count(*) AS n, count(l.term_id) AS priced, sum(l.expected) AS expected
      FROM contracts_lineexpectation l
      WHERE l.tenant_id = %(tenant)s AND {line_scope}
      GROUP BY l.claim_id) x
WHERE e.tenant_id = %(tenant)s AND e.claim_id = x.claim_id AND e.status = 'no_term'
"""
_LINE_COUNT_SQL = """
UPDATE contracts_claimexpectation e SET lines_total = x.n
FROM (SELECT l.claim_id, count(*) AS n FROM contracts_lineexpectation l
      WHERE l.tenant_id = %(tenant)s AND {line_scope} GROUP BY l.claim_id) x
WHERE e.tenant_id = %(tenant)s AND e.claim_id = x.claim_id AND e.status <> 'no_term'
"""


@dataclass(frozen=True)
class Scope:
    """Which claims to recompute: all (default), some payers' or some claims'."""

    payer_ids: Sequence[int] | None = None
    claim_ids: Sequence[int] | None = None

    def predicate(self, claim_col: str, payer_col: str | None) -> str:
        parts = [f"{claim_col} >= %(lo)s AND {claim_col} < %(hi)s"]
        if self.claim_ids is not None:
            parts.append(f"{claim_col} = ANY(%(claims)s)")
        if self.payer_ids is not None:
            if payer_col is None:
                parts.append(f"{claim_col} IN (SELECT c.id FROM rcm_feeds_claim c WHERE c.tenant_id = %(tenant)s "
                             "AND c.payer_id = ANY(%(payers)s))")
            else:
                parts.append(f"{payer_col} = ANY(%(payers)s)")
        return " AND ".join(parts)

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.claim_ids is not None:
            out["claims"] = list(self.claim_ids)
        if self.payer_ids is not None:
            out["payers"] = list(self.payer_ids)
        return out


def _bounds(scope: Scope, tenant: int) -> tuple[int, int] | None:
    """Smallest and largest claim id in scope, over the claims and over rows already computed."""
    params = {"tenant": tenant, "lo": 0, "hi": 2**62, **scope.params()}
    with connection.cursor() as cur:
        cur.execute(f"SELECT min(c.id), max(c.id) FROM rcm_feeds_claim c WHERE c.tenant_id = %(tenant)s AND "
                    f"{scope.predicate('c.id', 'c.payer_id')}", params)
        lo1, hi1 = cur.fetchone()
        cur.execute(f"SELECT min(e.claim_id), max(e.claim_id) FROM contracts_claimexpectation e "
                    f"WHERE e.tenant_id = %(tenant)s AND {scope.predicate('e.claim_id', 'e.payer_id')}", params)
        lo2, hi2 = cur.fetchone()
    los = [v for v in (lo1, lo2) if v is not None]
    his = [v for v in (hi1, hi2) if v is not None]
    if not los:
        return None
    return min(los), max(his)


@transaction.atomic
def expected_recompute(*, payer_ids: Sequence[int] | None = None, claim_ids: Sequence[int] | None = None,
                       progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Recompute the expected reimbursement of the claims in scope (all claims when neither is given).

    Returns counts of claims by status and the number of lines written. Safe to run again at any time.
    """
    tenant = require_tenant_id()
    scope = Scope(payer_ids=payer_ids, claim_ids=claim_ids)
    bounds = _bounds(scope, tenant)
    counts: dict[str, int] = {"claims": 0, "lines": 0}
    if bounds is None:
        if progress:
            progress(0, 0)
        return counts
    lo, hi = bounds
    chunks = list(range(lo, hi + 1, CHUNK_CLAIMS))
    claim_scope = scope.predicate("c.id", "c.payer_id")
    expectation_scope = scope.predicate("e.claim_id", "e.payer_id")
    line_scope = scope.predicate("l.claim_id", None)
    whole = {"tenant": tenant, "lo": lo, "hi": hi + 1, **scope.params()}
    months_sql = _EXPECTATION_MONTHS_SQL.format(scope=expectation_scope)
    with connection.cursor() as cur:
        if payer_ids is not None or claim_ids is not None:
            # the service months of the rows about to be replaced (a claim's month can change with a correction)
            cur.execute(months_sql, whole)
            months: set[dt.date] | None = {r[0] for r in cur.fetchall()}
        else:
            months = None
        cur.execute("ANALYZE contracts_contractterm")  # terms just published have no statistics yet
        for done, start in enumerate(chunks):
            params = {"tenant": tenant, "lo": start, "hi": start + CHUNK_CLAIMS, **scope.params()}
            cur.execute(f"DELETE FROM contracts_lineexpectation l WHERE l.tenant_id = %(tenant)s AND {line_scope}",
                        params)
            cur.execute(f"DELETE FROM contracts_claimexpectation e WHERE e.tenant_id = %(tenant)s AND "
                        f"{expectation_scope}", params)
            cur.execute(_CLAIMS_SQL.format(claim_scope=claim_scope), params)
            counts["claims"] += cur.rowcount
            # Fresh statistics of the rows just written (visible to ANALYZE in this transaction): without
            # them the planner takes the new claims for one row and nests loops over every CTE (176 s for
            # the demo's 3,500 claims instead of a fraction of a second).
            cur.execute("ANALYZE contracts_claimexpectation")
            cur.execute(_LINES_SQL.format(expectation_scope=expectation_scope), params)
            counts["lines"] += cur.rowcount
            cur.execute("ANALYZE contracts_lineexpectation")
            cur.execute(_ROLLUP_SQL.format(line_scope=line_scope), params)
            cur.execute(_LINE_COUNT_SQL.format(line_scope=line_scope), params)
            if progress:
                progress(done + 1, len(chunks))
        cur.execute(f"SELECT e.status, count(*) FROM contracts_claimexpectation e WHERE e.tenant_id = %(tenant)s "
                    f"AND {expectation_scope} GROUP BY e.status", whole)
        for status, n in cur.fetchall():
            counts[f"status_{status}"] = n
        if months is not None:
            cur.execute(months_sql, whole)
            months |= {r[0] for r in cur.fetchall()}
    # The payer x month summary the underpayment report reads, in the same transaction as the expectations.
    underpayment_monthly_refresh(months=None if months is None else sorted(months))
    return counts


def expected_recompute_for_file(*, file_id: int) -> dict[str, int]:
    """Recompute the claims a just-loaded file touches: its own claims (837) and the claims its remittances
    pay (835). For ``rcm_feeds`` ingestion to call after a load (see docs/contracts.md, "When it runs")."""
    tenant = require_tenant_id()
    with connection.cursor() as cur:
        cur.execute("""
            SELECT c.id FROM rcm_feeds_claim c WHERE c.tenant_id = %(t)s AND c.source_file_id = %(f)s
            UNION
            SELECT cp.claim_id FROM rcm_feeds_claimpayment cp
            JOIN rcm_feeds_remittance r ON r.id = cp.remittance_id AND r.tenant_id = %(t)s
            WHERE cp.tenant_id = %(t)s AND r.source_file_id = %(f)s AND cp.claim_id IS NOT NULL
            UNION  -- an original a new claim corrects is superseded now
            SELECT c.original_claim_id FROM rcm_feeds_claim c
            WHERE c.tenant_id = %(t)s AND c.source_file_id = %(f)s AND c.original_claim_id IS NOT NULL
        """, {"t": tenant, "f": file_id})
        ids = [row[0] for row in cur.fetchall()]
    if not ids:
        return {"claims": 0, "lines": 0}
    return expected_recompute(claim_ids=ids)


RECOMPUTE_JOB = "contracts_expected_recompute"


def expected_recompute_start(*, payer_ids: Sequence[int] | None = None, claim_ids: Sequence[int] | None = None,
                             reason: str = "", user: Any = None) -> Any:
    """Queue the recompute as a job (progress bar); it runs after the current transaction commits."""
    from revops.jobs import job_create, job_enqueue

    from ..tasks import expected_recompute_task

    label = "Expected reimbursement recompute" + (f": {reason}" if reason else "")
    job = job_create(kind=RECOMPUTE_JOB, label=label[:200], total=None, created_by=user,
                     params={"payer_ids": list(payer_ids) if payer_ids is not None else None,
                             "claim_ids": list(claim_ids) if claim_ids is not None else None})
    return job_enqueue(job=job, task=expected_recompute_task)


def expected_recompute_job(job: Any) -> dict[str, int]:
    """Body of ``contracts.tasks.expected_recompute_task``: the job's scope, recomputed with progress."""
    from revops.jobs import job_progress

    def progress(done: int, total: int) -> None:
        job_progress(job_id=job.pk, done=done, total=total, message=f"{done} of {total} claim ranges priced")

    return expected_recompute(payer_ids=job.params.get("payer_ids"), claim_ids=job.params.get("claim_ids"),
                              progress=progress)


# -- the underpayment summary ------------------------------------------------------------------------------------

# Per (payer, service month), over the claims priced or not (void and superseded ones left out), the additive
# measures of ``contracts.selectors.underpayment_report`` by payer and of its coverage: the same FILTERs as
# ``_CLAIM_GROUP_SQL`` and ``_COVERAGE_SQL`` there (tests/contracts/test_underpayment_monthly.py keeps those
# statements as the reference).
_UNDERPAYMENT_MONTHLY_SQL = """
INSERT INTO contracts_underpaymentmonthly (
    tenant_id, payer_id, month, total, in_variance, not_adjudicated, denied, no_contract, no_term,
    charges_no_contract, expected, paid, patient_responsibility, variance, underpaid_claims, denied_expected)
SELECT %(tenant)s, e.payer_id, date_trunc('month', e.service_date)::date, count(*),
       count(*) FILTER (WHERE {priced} AND NOT e.denied),
       count(*) FILTER (WHERE e.expected IS NOT NULL AND NOT e.adjudicated),
       count(*) FILTER (WHERE {priced} AND e.denied),
       count(*) FILTER (WHERE e.status = 'no_contract'), count(*) FILTER (WHERE e.status = 'no_term'),
       coalesce(sum(e.charge) FILTER (WHERE e.status = 'no_contract'), 0),
       coalesce(sum(e.expected) FILTER (WHERE {priced} AND NOT e.denied), 0),
       coalesce(sum(e.paid) FILTER (WHERE {priced} AND NOT e.denied), 0),
       coalesce(sum(e.patient_responsibility) FILTER (WHERE {priced} AND NOT e.denied), 0),
       coalesce(sum({v}) FILTER (WHERE {priced} AND NOT e.denied), 0),
       count(*) FILTER (WHERE {priced} AND NOT e.denied AND {v} > 0),
       coalesce(sum(e.expected) FILTER (WHERE {priced} AND e.denied), 0)
FROM contracts_claimexpectation e
WHERE e.tenant_id = %(tenant)s AND e.status NOT IN ('void', 'superseded') AND {months}
GROUP BY e.payer_id, date_trunc('month', e.service_date)
""".replace("{priced}", "(e.adjudicated AND e.expected IS NOT NULL)").replace(
    "{v}", "(e.expected - e.paid - e.patient_responsibility)")

_EXPECTATION_MONTHS_SQL = """
SELECT DISTINCT date_trunc('month', e.service_date)::date FROM contracts_claimexpectation e
WHERE e.tenant_id = %(tenant)s AND {scope}
"""


@transaction.atomic
def underpayment_monthly_refresh(*, months: Sequence[Any] | None = None) -> int:
    """Replace the active organization's ``UnderpaymentMonthly`` rows of the service ``months`` (any date in each;
    None: all) from ``ClaimExpectation``. The first refresh of an organization builds every month, whatever
    ``months`` says; refreshes of one organization are serialized on its state row. Rows written."""
    tenant = require_tenant_id()
    wanted = None if months is None else sorted({d.replace(day=1) for d in months})
    with connection.cursor() as cur:
        cur.execute("""
            INSERT INTO contracts_underpaymentmonthlystate (tenant_id, built_at, refreshed_at)
            VALUES (%s, now(), now())
            ON CONFLICT (tenant_id) DO UPDATE SET refreshed_at = now() RETURNING (xmax = 0)
        """, [tenant])
        if cur.fetchone()[0]:
            wanted = None
        if wanted is not None and not wanted:
            return 0
        params: dict[str, Any] = {"tenant": tenant, "all": wanted is None, "months": wanted or []}
        in_months = months_predicate("e.service_date", wanted)
        cur.execute("DELETE FROM contracts_underpaymentmonthly WHERE tenant_id = %(tenant)s "
                    "AND (%(all)s OR month = ANY(%(months)s::date[]))", params)
        cur.execute(_UNDERPAYMENT_MONTHLY_SQL.replace("{months}", in_months), params)
        return cur.rowcount


def underpayment_monthly_backfill() -> int:
    """Build ``UnderpaymentMonthly`` for every organization with claim expectations (migration 0004); the others
    build it on their first recompute and are read from the expectations until then. Organizations built."""
    from revops.tenancy import each_organization_with_rows

    return each_organization_with_rows("contracts_claimexpectation", lambda: underpayment_monthly_refresh(months=None))

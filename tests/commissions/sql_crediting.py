"""The crediting rules as one SQL query: the reference ``commissions.services.crediting.credits_for``
(pandas) is compared with in tests/commissions/test_crediting.py."""
from __future__ import annotations

from commissions.models import CreditRule, CreditRuleKind


def _active_on(alias: str, date: str) -> str:
    return f"{alias}.valid_from <= {date} AND ({alias}.valid_to IS NULL OR {alias}.valid_to > {date})"


def credits_sql(*, override_levels: list[int]) -> str:
    """The crediting query for a period (parameters ``t`` tenant, ``s`` start, ``e`` end exclusive).

    A reversal is credited like its original (same people, the original's date for ownership and
    plan version), so a clawback reaches whoever was paid."""
    overrides = []
    chain = ["mgr0 AS (SELECT p.*, p.person_id AS m0 FROM primary_credit p)"]
    for level in range(1, max(override_levels, default=0) + 1):
        chain.append(f"""mgr{level} AS (
            SELECT q.*, rl.manager_id AS m{level} FROM mgr{level - 1} q
            JOIN revops_reportingline rl ON rl.tenant_id = %(t)s AND rl.person_id = q.m{level - 1}
             AND {_active_on('rl', 'q.credit_date')})""")
    for level in sorted(set(override_levels)):
        overrides.append(f"""
            SELECT q.txn_id, q.m{level} AS person_id, 'override' AS role, {4 + level} AS role_order, r.id AS rule_id,
                   r.share, round(q.credited * r.share, 2) AS credited, q.basis, q.service_line_id, q.date, q.credit_date, q.reverses_id, q.orig_date, q.orig_amount,
                   q.amount
            FROM mgr{level} q
            JOIN commissions_creditrule r ON r.tenant_id = %(t)s AND r.is_active AND r.kind = 'manager_override'
             AND r.level = {level} AND (r.basis = '' OR r.basis = q.basis)""")
    override_sql = ("UNION ALL " + " UNION ALL ".join(overrides)) if overrides else ""
    chain_sql = (", " + ", ".join(chain)) if overrides else ""
    return f"""
    WITH txn AS (
        SELECT t.id AS txn_id, t.basis, t.account_id, t.person_id AS named_person, t.service_line_id,
               t.transaction_date AS date, t.amount, t.reverses_id, o.transaction_date AS orig_date,
               o.amount AS orig_amount, coalesce(o.transaction_date, t.transaction_date) AS credit_date,
               coalesce(o.id, t.id) AS credit_txn
        FROM commissions_transaction t
        LEFT JOIN commissions_transaction o ON o.tenant_id = %(t)s AND o.id = t.reverses_id
        WHERE t.tenant_id = %(t)s AND t.transaction_date >= %(s)s AND t.transaction_date < %(e)s
    ), split_txn AS (
        SELECT DISTINCT x.credit_txn FROM txn x
        JOIN commissions_transactionsplit sp ON sp.tenant_id = %(t)s AND sp.transaction_id = x.credit_txn
    ), primary_credit AS (
        SELECT x.txn_id, sp.person_id, 'split' AS role, 1 AS role_order, NULL::bigint AS rule_id, sp.share,
               round(x.amount * sp.share, 2) AS credited, NULL::bigint AS territory_id,
               x.basis, x.service_line_id, x.date, x.credit_date, x.reverses_id, x.orig_date, x.orig_amount, x.amount
        FROM txn x JOIN commissions_transactionsplit sp ON sp.tenant_id = %(t)s AND sp.transaction_id = x.credit_txn
        UNION ALL
        SELECT x.txn_id, x.named_person, 'direct', 1, NULL, 1, x.amount, NULL,
               x.basis, x.service_line_id, x.date, x.credit_date, x.reverses_id, x.orig_date, x.orig_amount, x.amount
        FROM txn x WHERE x.named_person IS NOT NULL AND x.credit_txn NOT IN (SELECT credit_txn FROM split_txn)
        UNION ALL
        SELECT x.txn_id, o.person_id, 'owner', 1, NULL, 1, x.amount, o.territory_id,
               x.basis, x.service_line_id, x.date, x.credit_date, x.reverses_id, x.orig_date, x.orig_amount, x.amount
        FROM txn x JOIN territories_accountownership o ON o.tenant_id = %(t)s AND o.account_id = x.account_id
             AND {_active_on('o', 'x.credit_date')}
        WHERE x.named_person IS NULL AND o.person_id IS NOT NULL
          AND x.credit_txn NOT IN (SELECT credit_txn FROM split_txn)
    ){chain_sql}, credit AS (
        SELECT txn_id, person_id, role, role_order, rule_id, share, credited, basis, service_line_id, date,
               credit_date, reverses_id, orig_date, orig_amount, amount
        FROM primary_credit
        UNION ALL
        SELECT p.txn_id, m.id, 'team', 2, r.id, r.share, round(p.credited * r.share, 2),
               p.basis, p.service_line_id, p.date, p.credit_date, p.reverses_id, p.orig_date, p.orig_amount, p.amount
        FROM primary_credit p
        JOIN revops_person me ON me.tenant_id = %(t)s AND me.id = p.person_id AND me.team_id IS NOT NULL
        JOIN revops_person m ON m.tenant_id = %(t)s AND m.team_id = me.team_id AND m.id <> me.id
         AND m.hire_date <= p.credit_date AND (m.termination_date IS NULL OR m.termination_date > p.credit_date)
        JOIN commissions_creditrule r ON r.tenant_id = %(t)s AND r.is_active AND r.kind = 'team'
         AND (r.basis = '' OR r.basis = p.basis)
        UNION ALL
        SELECT p.txn_id, c.person_id, 'overlay', 3, r.id, r.share, round(p.credited * r.share, 2),
               p.basis, p.service_line_id, p.date, p.credit_date, p.reverses_id, p.orig_date, p.orig_amount, p.amount
        FROM primary_credit p
        JOIN territories_coverage c ON c.tenant_id = %(t)s AND c.territory_id = p.territory_id AND c.role = 'overlay'
         AND c.person_id IS NOT NULL AND {_active_on('c', 'p.credit_date')}
        JOIN commissions_creditrule r ON r.tenant_id = %(t)s AND r.is_active AND r.kind = 'overlay'
         AND (r.basis = '' OR r.basis = p.basis)
        {override_sql}
    ), versioned AS (
        SELECT k.*, v.id AS version_id
        FROM credit k
        LEFT JOIN commissions_planassignment a ON a.tenant_id = %(t)s AND a.person_id = k.person_id
             AND a.effective_from <= k.credit_date AND (a.effective_to IS NULL OR a.effective_to > k.credit_date)
        LEFT JOIN commissions_compplanversion v ON v.tenant_id = %(t)s AND v.plan_id = a.plan_id
             AND v.status = 'active' AND v.effective_from <= k.credit_date
             AND (v.effective_to IS NULL OR v.effective_to > k.credit_date)
    )
    SELECT txn_id, person_id, date, (credited * 100)::bigint AS credited_cents,
           (share * 1000000)::bigint AS share_micro, role, role_order, coalesce(rule_id, 0) AS rule_id, basis,
           coalesce(service_line_id, 0) AS service_line_id, coalesce(version_id, 0) AS version_id,
           coalesce(reverses_id, 0) AS reverses_txn_id, orig_date,
           coalesce((orig_amount * 100)::bigint, 0) AS orig_amount_cents, (amount * 100)::bigint AS amount_cents,
           credit_date
    FROM versioned
    """


def override_levels() -> list[int]:
    return sorted(set(CreditRule.objects.filter(kind=CreditRuleKind.MANAGER_OVERRIDE, is_active=True)
                      .values_list("level", flat=True)))



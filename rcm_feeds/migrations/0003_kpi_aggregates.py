"""Monthly KPI aggregate tables (maintained by rcm_feeds.aggregates), under row-level security.

They are plain tables, not models: only SQL reads and writes them (rcm_feeds.kpis,
rcm_feeds.aggregates). 0005 replaces the foreign key to the organization by a delete trigger.
"""
from django.db import migrations

from revops.tenancy import rls_sql

DIMENSIONS = """
    tenant_id bigint NOT NULL REFERENCES revops_organization (id) ON DELETE CASCADE,  -- dropped in 0005
    month date NOT NULL,
    payer_id bigint,
    program_id bigint,
    facility_id bigint,
"""

CREATE = [
    f"""CREATE TABLE rcm_feeds_kpi_monthly ({DIMENSIONS}
        claims_submitted integer NOT NULL DEFAULT 0,
        charges_submitted numeric(16, 2) NOT NULL DEFAULT 0,
        clean_claims integer NOT NULL DEFAULT 0,
        claims_adjudicated integer NOT NULL DEFAULT 0,
        first_pass_claims integer NOT NULL DEFAULT 0,
        claims_denied_initial integer NOT NULL DEFAULT 0,
        charges_denied_initial numeric(16, 2) NOT NULL DEFAULT 0,
        remit_charges numeric(16, 2) NOT NULL DEFAULT 0,
        payments numeric(16, 2) NOT NULL DEFAULT 0,
        contractual numeric(16, 2) NOT NULL DEFAULT 0,
        paid_claims integer NOT NULL DEFAULT 0,
        days_to_pay_sum bigint NOT NULL DEFAULT 0,
        ar_total numeric(16, 2) NOT NULL DEFAULT 0,
        ar_over_90 numeric(16, 2) NOT NULL DEFAULT 0,
        rcm_cost numeric(16, 2) NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX rcm_feeds_kpi_monthly_tm ON rcm_feeds_kpi_monthly (tenant_id, month)",
    f"""CREATE TABLE rcm_feeds_denial_monthly ({DIMENSIONS}
        category varchar(24) NOT NULL,
        carc varchar(5) NOT NULL,
        denials integer NOT NULL DEFAULT 0,
        denied_charge numeric(16, 2) NOT NULL DEFAULT 0,
        overturned integer NOT NULL DEFAULT 0,
        resolved integer NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX rcm_feeds_denial_monthly_tm ON rcm_feeds_denial_monthly (tenant_id, month)",
    f"""CREATE TABLE rcm_feeds_denial_resolution_monthly ({DIMENSIONS}
        days integer NOT NULL,
        resolved integer NOT NULL
    )""",
    "CREATE INDEX rcm_feeds_denial_resolution_monthly_tm ON rcm_feeds_denial_resolution_monthly (tenant_id, month)",
]
TABLES = ["rcm_feeds_kpi_monthly", "rcm_feeds_denial_monthly", "rcm_feeds_denial_resolution_monthly"]


class Migration(migrations.Migration):
    dependencies = [("rcm_feeds", "0002_row_level_security"), ("revops", "__first__")]

    operations = [
        migrations.RunSQL(
            sql=CREATE + [statement for table in TABLES for statement in rls_sql(table)],
            reverse_sql=[f"DROP TABLE IF EXISTS {table}" for table in TABLES],
        ),
    ]

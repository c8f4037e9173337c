"""Partial indexes for the links most rows leave empty (rcm_feeds.models.nonnull_indexes).

The state changes the four foreign keys to ``db_index=False`` and adds the partial indexes; the
database only swaps the indexes. Left to ``AlterField``, Django would also drop and re-add each
foreign-key constraint, which re-validates it over the whole table.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('rcm_feeds', '0008_kpi_monthly_clean_yield'),
        ('revops', '0004_rls_predicate_per_statement'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='claim',
                    name='original_claim',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='corrections', to='rcm_feeds.claim'),
                ),
                migrations.AlterField(
                    model_name='claim',
                    name='part2_program',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='revops.program'),
                ),
                migrations.AlterField(
                    model_name='claimpayment',
                    name='part2_program',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='revops.program'),
                ),
                migrations.AlterField(
                    model_name='denial',
                    name='overturned_by',
                    field=models.ForeignKey(blank=True, db_index=False, help_text='The later payment that overturned this denial.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='rcm_feeds.claimpayment'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    sql=[
                        "DROP INDEX IF EXISTS rcm_feeds_claim_original_claim_id_8507ff37",
                        "DROP INDEX IF EXISTS rcm_feeds_claim_part2_program_id_47c267ba",
                        "DROP INDEX IF EXISTS rcm_feeds_claimpayment_part2_program_id_3bab38f2",
                        "DROP INDEX IF EXISTS rcm_feeds_denial_overturned_by_id_32446fe0",
                    ],
                    reverse_sql=[
                        "CREATE INDEX rcm_feeds_claim_original_claim_id_8507ff37 ON rcm_feeds_claim (original_claim_id)",
                        "CREATE INDEX rcm_feeds_claim_part2_program_id_47c267ba ON rcm_feeds_claim (part2_program_id)",
                        "CREATE INDEX rcm_feeds_claimpayment_part2_program_id_3bab38f2 "
                        "ON rcm_feeds_claimpayment (part2_program_id)",
                        "CREATE INDEX rcm_feeds_denial_overturned_by_id_32446fe0 ON rcm_feeds_denial (overturned_by_id)",
                    ],
                ),
            ],
        ),
        migrations.AddIndex(
            model_name='claim',
            index=models.Index(condition=models.Q(('original_claim__isnull', False)), fields=['original_claim'], name='claim_original_claim_nn'),
        ),
        migrations.AddIndex(
            model_name='claim',
            index=models.Index(condition=models.Q(('part2_program__isnull', False)), fields=['part2_program'], name='claim_part2_program_nn'),
        ),
        migrations.AddIndex(
            model_name='claimpayment',
            index=models.Index(condition=models.Q(('part2_program__isnull', False)), fields=['part2_program'], name='claimpayment_part2_program_nn'),
        ),
        migrations.AddIndex(
            model_name='denial',
            index=models.Index(condition=models.Q(('overturned_by__isnull', False)), fields=['overturned_by'], name='denial_overturned_by_nn'),
        ),
    ]

"""The fact tables' unconstrained links (rcm_feeds.integrity): listed, and a dangling one is found."""
from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from rcm_feeds.integrity import integrity_problems, unconstrained_links
from rcm_feeds.models import Adjustment, ClaimPayment, Denial
from revops.tenancy import tenant_context

pytestmark = pytest.mark.django_db


def test_unconstrained_links_are_the_loader_links():
    labels = {link.label for link in unconstrained_links()}
    assert "rcm_feeds_adjustment.claim_payment_id -> rcm_feeds_claimpayment" in labels
    assert "rcm_feeds_claimline.claim_id -> rcm_feeds_claim" in labels
    assert "rcm_feeds_denial.claim_id -> rcm_feeds_claim" in labels
    # Links to reference data users edit keep their database constraint.
    assert not any(link.parent_table.startswith("revops_") for link in unconstrained_links())
    with connection.cursor() as cursor:
        cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = 'rcm_feeds_claim'::regclass "
                       "AND contype = 'f'")
        constraints = " ".join(row[0] for row in cursor.fetchall())
    assert "payer_id" in constraints and "program_id" in constraints
    assert "tenant_id" not in constraints and "source_file_id" not in constraints


def test_world_rows_are_sound_and_a_dangling_or_foreign_link_is_reported(world):
    with tenant_context(world.a.org):
        assert integrity_problems() == {}
        payment = ClaimPayment.objects.first()
        adjustment = Adjustment.objects.filter(claim_payment=payment).first()
        denial = Denial.objects.exclude(claim=None).first()
    with tenant_context(world.b.org):
        foreign_payment = ClaimPayment.objects.first().pk
    call_command("rcm_integrity_check")
    with tenant_context(world.a.org), connection.cursor() as cursor:
        # No constraint trigger stops these (the loader never writes them): the check must.
        cursor.execute("UPDATE rcm_feeds_adjustment SET claim_payment_id = %s WHERE id = %s",
                       [foreign_payment, adjustment.pk])
        cursor.execute("UPDATE rcm_feeds_denial SET claim_id = -1 WHERE id = %s", [denial.pk])
        problems = integrity_problems()
    assert problems == {"rcm_feeds_adjustment.claim_payment_id -> rcm_feeds_claimpayment": 1,
                        "rcm_feeds_denial.claim_id -> rcm_feeds_claim": 1}
    with pytest.raises(CommandError, match="2 dangling links"):
        call_command("rcm_integrity_check")

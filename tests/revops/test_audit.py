"""The audit trail records who changed what, in which organization, before and after."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from revops.models import Account, AuditEvent, Payer
from revops.audit import audit_bulk
from revops.tenancy import Actor, actor_context, tenant_context


def test_create_update_delete_are_recorded_with_actor_and_values(world):
    user = world.a.users["revops_analyst"]
    with tenant_context(world.a.org), actor_context(Actor(user_id=user.pk, label=user.username)):
        payer = Payer.objects.create(name="Ambetter", payer_class="commercial")
        payer.payer_class = "medicaid_managed"
        payer.save()
        pk = payer.pk
        payer.delete()
        events = list(AuditEvent.objects.filter(model="revops.Payer", object_pk=str(pk)).order_by("id"))
    assert [e.action for e in events] == ["create", "update", "delete"]
    create, update, delete = events
    assert create.before is None and create.after["name"] == "Ambetter"
    assert update.changed_fields == ["payer_class"]
    assert update.before["payer_class"] == "commercial" and update.after["payer_class"] == "medicaid_managed"
    assert delete.after is None and delete.before["name"] == "Ambetter"
    assert {e.actor_user_id for e in events} == {user.pk}
    assert {e.actor_label for e in events} == {user.username}
    assert {e.tenant_id for e in events} == {world.a.org.pk}


def test_saving_without_a_change_records_nothing(world):
    with tenant_context(world.a.org):
        payer = Payer.objects.get()
        before = AuditEvent.objects.count()
        payer.save()
        assert AuditEvent.objects.count() == before


def test_values_are_json_safe_decimals_and_dates(world):
    with tenant_context(world.a.org):
        account = Account.objects.get()
        account.latitude = Decimal("36.162664")
        account.save()
        event = AuditEvent.objects.filter(model="revops.Account", action="update").latest("id")
        assert event.after["latitude"] == "36.162664"
        person = world.a.objects["person"]
        person.hire_date = dt.date(2021, 4, 1)
        person.save()
        event = AuditEvent.objects.filter(model="revops.Person", action="update").latest("id")
        assert event.before["hire_date"] == "2021-03-01" and event.after["hire_date"] == "2021-04-01"


def test_events_are_only_visible_in_their_own_organization(world):
    with tenant_context(world.b.org):
        reprs = set(AuditEvent.objects.values_list("object_repr", flat=True))
    assert reprs and not any("Harbor" in r for r in reprs)


def test_bulk_writes_record_one_summary_event(world):
    with tenant_context(world.a.org):
        event = audit_bulk(model=Account, action="create", summary={"rows": 1200, "file": "accounts.csv"},
                           tenant_id=world.a.org.pk)
        assert event.object_pk == "*" and event.after == {"rows": 1200, "file": "accounts.csv"}

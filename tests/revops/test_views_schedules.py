"""Schedules pages: viewable by admin, analyst and billing manager; created and edited by admins."""
from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from revops.models import Role, TenantSchedule
from revops.tenancy import tenant_context

VIEWERS = [Role.ADMIN, Role.REVOPS_ANALYST, Role.BILLING_MANAGER]
OTHERS = [Role.EXECUTIVE, Role.REP, Role.INTEGRATOR]


def schedule(tenant) -> TenantSchedule:
    return tenant.objects["tenantschedule"]


@pytest.mark.parametrize("role", VIEWERS)
def test_viewers_see_the_list_with_next_run(world, role):
    response = world.a.client(role).get(reverse("schedules"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Prune old jobs" in body and "17 3 * * *" in body and "UTC" in body
    assert ("New schedule" in body) == (role == Role.ADMIN)


@pytest.mark.parametrize("role", OTHERS)
def test_other_roles_get_403(world, role):
    client = world.a.client(role)
    assert client.get(reverse("schedules")).status_code == 403
    assert client.get(reverse("schedule_edit", args=[schedule(world.a).pk])).status_code == 403


def test_analyst_sees_a_read_only_form_and_cannot_save(world):
    client = world.a.client(Role.REVOPS_ANALYST)
    url = reverse("schedule_edit", args=[schedule(world.a).pk])
    page = client.get(url).content.decode()
    assert "can see schedules but not change them" in page and "disabled" in page
    assert client.post(url, {"name": "Hacked", "task": "revops.tasks.jobs_prune", "crontab": "* * * * *"}).status_code == 403
    assert client.get(reverse("schedule_new")).status_code == 403


def test_admin_creates_a_schedule_mirrored_into_beat(world):
    client = world.a.client(Role.ADMIN)
    response = client.post(reverse("schedule_new"), {
        "name": "Weekly prune", "task": "revops.tasks.jobs_prune", "crontab": "0  4 * *  1",
        "enabled": "on", "kwargs": '{"older_than_days": 30}',
    })
    assert response.status_code == 302
    with tenant_context(world.a.org):
        created = TenantSchedule.objects.get(name="Weekly prune")
    assert created.crontab == "0 4 * * 1" and created.kwargs == {"older_than_days": 30}
    periodic = PeriodicTask.objects.get(pk=created.periodic_task_id)
    assert json.loads(periodic.kwargs) == {"older_than_days": 30, "tenant_id": world.a.org.pk}


def test_admin_edits_and_form_refuses_bad_input(world):
    client = world.a.client(Role.ADMIN)
    target = schedule(world.a)
    url = reverse("schedule_edit", args=[target.pk])
    bad = client.post(url, {"name": "Prune old jobs", "task": "revops.tasks.jobs_prune", "crontab": "99 * * * *",
                            "kwargs": '{"tenant_id": 5}'})
    assert bad.status_code == 200
    assert b"Not a valid schedule" in bad.content and b"tenant_id is set by the system" in bad.content
    four_fields = client.post(url, {"name": "Prune old jobs", "task": "revops.tasks.jobs_prune", "crontab": "* * * *"})
    assert b"Use five fields" in four_fields.content
    ok = client.post(url, {"name": "Prune old jobs", "task": "revops.tasks.jobs_prune", "crontab": "30 2 * * *", "kwargs": ""})
    assert ok.status_code == 302
    with tenant_context(world.a.org):
        target.refresh_from_db()
    assert target.crontab == "30 2 * * *" and not target.enabled
    assert not PeriodicTask.objects.get(pk=target.periodic_task_id).enabled


def test_names_are_unique_within_the_organization(world):
    client = world.a.client(Role.ADMIN)
    response = client.post(reverse("schedule_new"), {"name": "Prune old jobs", "task": "revops.tasks.jobs_prune",
                                                     "crontab": "0 1 * * *"})
    assert b"Another schedule has this name" in response.content


def test_delete_after_confirmation(world):
    client = world.a.client(Role.ADMIN)
    target = schedule(world.a)
    url = reverse("schedule_delete", args=[target.pk])
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302
    with tenant_context(world.a.org):
        assert not TenantSchedule.objects.filter(pk=target.pk).exists()
        others = list(TenantSchedule.objects.all())
    assert not PeriodicTask.objects.filter(pk=target.periodic_task_id).exists()
    for other in others:  # the last one gone, the page says there are none
        client.post(reverse("schedule_delete", args=[other.pk]))
    assert b"No schedules" in client.get(reverse("schedules")).content


def test_another_organizations_schedule_is_404(world):
    client = world.a.client(Role.ADMIN)
    foreign = schedule(world.b)
    assert client.get(reverse("schedule_edit", args=[foreign.pk])).status_code == 404
    assert client.post(reverse("schedule_edit", args=[foreign.pk]), {"name": "x"}).status_code == 404
    assert client.post(reverse("schedule_delete", args=[foreign.pk])).status_code == 404
    with tenant_context(world.b.org):
        assert TenantSchedule.objects.filter(pk=foreign.pk).exists()

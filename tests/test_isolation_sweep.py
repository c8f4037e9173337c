"""Walks every URL pattern (pages, admin pages, API) and proves tenant isolation and the role matrix.

Nothing here lists endpoints by hand: routes are discovered from the URLconf, their resource
and model from the view (``require_access``/``AccessRequiredMixin`` attributes, DRF
``access_resource`` and ``queryset``, the admin's ``model_admin``). A new endpoint is covered
the moment it is routed, and one that declares no resource fails ``test_route_declares_access``.

For every route:
- another organization's object answers 404 for every method (and is left unchanged);
- pages and lists never contain another organization's data;
- each role gets 403 where the matrix says so, and is let through where it says yes.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from revops.access import MATRIX, action_for_method, allowed
from revops.models import Role
from revops.tenancy import tenant_context
from tests.commissions import sweep_disputes, sweep_runs
from tests.contracts import sweep as contracts_sweep
from tests.scenarios import sweep as scenarios_sweep
from tests.conftest import Tenant, World, build_tenant
from tests.intake import sweep as intake_sweep

# Routes anyone may open (no tenant data behind them). Everything else must declare a resource.
PUBLIC_ROUTES = {
    "login",
    "logout",
    "no_organization",
    "api-schema",
    "api-docs",
    "api-redoc",
    "admin:login",
    "admin:logout",
    "admin:jsi18n",
    "admin:password_change",
    "admin:password_change_done",
}
OBJECT_KWARGS = {"pk", "object_id", "job_id"}
# URL parameters that name no organization's data (a KPI's key): filled with a fixed value; such
# a route has no row of another organization to try.
FIXED_KWARGS = {"kpi": "net_collection_rate"}
# Strings that identify organization b; they must never appear in a response to organization a.
FOREIGN_MARKERS = re.compile(rb"summit", re.IGNORECASE)
SAFE = ("GET",)
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    callback: Any
    kwargs: tuple[str, ...]

    def __str__(self) -> str:
        return self.name


def _walk(patterns: list[Any], prefix: str = "", namespace: str | None = None):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(filter(None, [namespace, p.namespace])) or None
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            kwargs = tuple(p.pattern.regex.groupindex)
            if "format" in kwargs:
                continue  # DRF's format-suffix twin of a route already walked
            name = f"{namespace}:{p.name}" if namespace and p.name else (p.name or "")
            yield Route(name=name, route=prefix + str(p.pattern), callback=p.callback, kwargs=kwargs)


ROUTES = sorted(_walk(get_resolver().url_patterns), key=lambda r: (r.name, r.route))


@dataclass
class Meta:
    resource: str | None
    model: type | None
    methods: dict[str, str | None]  # method -> declared action (None: by method)
    is_api: bool
    is_admin: bool


def meta(route: Route) -> Meta:
    cb = route.callback
    if hasattr(cb, "cls"):  # DRF view or viewset
        cls = cb.cls
        qs = getattr(cls, "queryset", None)
        model = qs.model if qs is not None else getattr(cls, "access_model", None)
        actions = getattr(cb, "actions", None)
        overrides = getattr(cls, "access_actions", {})
        if actions:
            # DRF routes HEAD to the GET action (same view, same checks, no body): sweeping it again would
            # only repeat the GET's requests.
            methods = {m.upper(): overrides.get(a) for m, a in actions.items()
                       if not (m == "head" and a == actions.get("get"))}
        else:
            methods = {m.upper(): None for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)}
        return Meta(getattr(cls, "access_resource", None), model, methods, True, False)
    if route.name.startswith("admin:"):
        model_admin = getattr(cb, "model_admin", None)
        site = getattr(model_admin, "admin_site", None)
        if site is None:
            from revops.admin import site as revops_site

            site = revops_site
        model = model_admin.model if model_admin else None
        if "content_type_id" in route.kwargs and model is None:
            from revops.models import Person

            model = Person
        return Meta(getattr(site, "access_resource", None), model, {"GET": None, "POST": None}, False, True)
    view_class = getattr(cb, "view_class", None)
    target = view_class or cb
    resource = getattr(target, "access_resource", None)
    model = getattr(target, "access_model", None) or getattr(target, "model", None)
    action = getattr(target, "access_action", None)
    if view_class is not None:
        methods = {m.upper(): action for m in view_class.http_method_names if hasattr(view_class, m) and m != "options"}
    else:
        methods = {"GET": action, "POST": action}
    methods.pop("HEAD", None)
    return Meta(resource, model, methods, False, False)


def expected_action(method: str, declared: str | None) -> str:
    return declared or action_for_method(method)


def _spare_api_key() -> Any:
    from revops.services import api_key_create

    return api_key_create(name="sweep spare key")[0]


def _territory_plan(tenant: Any, name: str) -> Any:
    """A draft plan with a region, two leaves, a rule and a to-be-hired rep (the world has no plans);
    made once per organization, its rows kept as the sweep's objects of those models."""
    import datetime as dt

    from territories import services as territory_services

    plan = territory_services.plan_create(name="Sweep plan", effective_from=dt.date(2025, 1, 1))
    region = territory_services.territory_create(plan=plan, code="R1", name="Region", level="region")
    t1 = territory_services.territory_create(plan=plan, code="T1", name="First", parent=region)
    t2 = territory_services.territory_create(plan=plan, code="T2", name="Second", parent=region)
    rule = territory_services.rule_save(plan=plan, territory=t1, kind="zip", value="37203")
    coverage = territory_services.coverage_assign(territory=t1, placeholder="To be hired: sweep rep")
    made = {"territoryplan": plan, "territory": t2, "assignmentrule": rule, "coverage": coverage}
    tenant.objects.update({f"sweep:{k}": v for k, v in made.items()})
    return made[name]


def _quota_plan(tenant: Any, name: str) -> Any:
    """A draft quota plan on the sweep's territory plan (company, region, two leaves), phased by a typed-in
    seasonality profile, and a credited transaction of the world's account; made once per organization."""
    import datetime as dt
    from decimal import Decimal

    from quotas import services as quota_services
    from quotas.models import CreditedTransaction, Quota

    territory_plan = tenant.objects.get("sweep:territoryplan") or _territory_plan(tenant, "territoryplan")
    profile = quota_services.seasonality_save(name="Sweep phasing", weights=[1] * 12)
    quota_services.transactions_upsert(rows=[("SWEEP-1", "bookings", "deal", tenant.objects["account"].pk, None,
                                              dt.date(2025, 3, 1), Decimal("1200.00"), "Sweep deal")])
    plan = quota_services.plan_create(name="Sweep quota plan", fiscal_year=2025, territory_plan=territory_plan,
                                      company_target=Decimal("120000"), seasonality=profile)
    made = {"quotaplan": plan, "quota": Quota.objects.get(plan=plan, code="T1"), "seasonalityprofile": profile,
            "creditedtransaction": CreditedTransaction.objects.get(external_id="SWEEP-1")}
    tenant.objects.update({f"sweep:{k}": v for k, v in made.items()})
    return made[name]


def _forecast(tenant: Any, name: str) -> Any:
    """The default stages, an open opportunity of the world's rep, the January 2030 period with the rep's
    call, and a weighted-pipeline run as of 31 December 2029; made once per organization."""
    import datetime as dt
    from decimal import Decimal

    from forecasting import services as forecast_services
    from forecasting.models import ForecastCall, Opportunity, Stage

    forecast_services.stages_install_defaults()
    stage = Stage.objects.get(name="Proposal")
    forecast_services.opportunities_upsert(rows=[("SWEEP-O1", "Sweep deal", tenant.objects["account"].pk, None,
                                                  tenant.objects["person"].pk, stage.pk, Decimal("1000.00"),
                                                  dt.date(2030, 1, 20), "commit", None, dt.date(2029, 12, 1))])
    period = forecast_services.period_ensure(start=dt.date(2030, 1, 1))
    forecast_services.call_submit(period=period, person=tenant.objects["person"], category="commit",
                                  amount=Decimal("900"))
    run = forecast_services.pipeline_run(as_of=dt.date(2029, 12, 31), horizon=1)
    made = {"stage": Stage.objects.get(name="Qualified"), "opportunity": Opportunity.objects.get(external_id="SWEEP-O1"),
            "forecastperiod": period, "forecastcall": ForecastCall.objects.get(period=period), "forecastrun": run}
    tenant.objects.update({f"sweep:{k}": v for k, v in made.items()})
    return made[name]


def _commissions(tenant: Any, name: str) -> Any:
    """A compensation plan with a draft version (a flat 5% bookings commission), the world's rep assigned to it
    from 2025 and a team-credit rule; made once per organization."""
    import datetime as dt
    from decimal import Decimal

    from commissions.services import plans as commission_plans

    plan = commission_plans.plan_create(name="Sweep comp plan")
    version = commission_plans.version_create(plan=plan, effective_from=dt.date(2025, 1, 1))
    component = commission_plans.component_save(version=version, name="Sweep bookings", basis="bookings",
                                                rate=Decimal("0.05"))
    # Ends before the run sweep's November 2029 assignment of the same rep (tests/commissions/sweep_runs.py).
    assignment = commission_plans.assignment_save(person=tenant.objects["person"], plan=plan,
                                                  effective_from=dt.date(2025, 1, 1),
                                                  effective_to=dt.date(2029, 1, 1))
    rule = commission_plans.credit_rule_save(name="Sweep team credit", kind="team", share=Decimal("0.1"))
    made = {"compplan": plan, "compplanversion": version, "component": component, "planassignment": assignment,
            "creditrule": rule}
    tenant.objects.update({f"sweep:{k}": v for k, v in made.items()})
    return made[name]


# Objects the sweep must not take from the world as they are (revoking the world's API key
# would sign the integrator out half-way through the role checks), or that the world lacks.
SWEEP_OBJECTS = {
    "apikey": lambda tenant, name: _spare_api_key(),
    **{model: _territory_plan for model in ("territoryplan", "territory", "assignmentrule", "coverage")},
    **{model: _quota_plan for model in ("quotaplan", "quota", "seasonalityprofile", "creditedtransaction")},
    **{model: _forecast for model in ("stage", "opportunity", "forecastperiod", "forecastcall", "forecastrun")},
    **{model: _commissions for model in ("compplan", "compplanversion", "component", "planassignment", "creditrule")},
    **{model: sweep_disputes.sweep_object for model in sweep_disputes.MODELS},
    **{model: sweep_runs.sweep_object for model in sweep_runs.MODELS},
    **{model: intake_sweep.sweep_object for model in intake_sweep.MODELS},
    **{model: contracts_sweep.sweep_object for model in contracts_sweep.MODELS},
    **{model: scenarios_sweep.sweep_object for model in scenarios_sweep.MODELS},
}


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Any) -> None:
    """Dispute attachments the sweep uploads go to a temporary directory, not var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(scope="module")
def sweep_world(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any) -> Any:
    """The two organizations and every row the routes address, built once for the module.

    They are written inside a transaction that stays open for the whole module and is rolled back at
    its end; each test runs in a savepoint of it (pytest-django's ``db`` nests its atomic block inside
    this one), so whatever a route changes or deletes is undone before the next route, exactly as when
    every test built its own world, but the world (two organizations, a commission run, contracts,
    scenarios...) is built once instead of 439 times.
    """
    media = tmp_path_factory.mktemp("sweep_media")
    md5 = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=md5, MEDIA_ROOT=media):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            built = World(a=build_tenant("Harbor Behavioral", "harbor", "behavioral_health"),
                          b=build_tenant("Summit Labs", "summit", "lab"))
            for route in SWEPT:
                model = meta(route).model
                if model is not None and route.kwargs:
                    world_object(built.a, model)
                    world_object(built.b, model)
            yield built
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _per_test(tenant: Tenant) -> Tenant:
    """A test's own view of a module-built organization: the same rows, copies of the model instances
    (a test may change one in memory, e.g. ``b_only_object``), and no signed-in clients (their sessions
    would be rolled back with the test)."""
    return Tenant(org=tenant.org, users=dict(tenant.users), api_key=tenant.api_key,
                  objects={k: copy.copy(v) for k, v in tenant.objects.items()})


@pytest.fixture
def world(sweep_world: World, db: Any) -> World:
    """Overrides conftest's ``world``: the module's world, each test in a savepoint rolled back after it."""
    return World(a=_per_test(sweep_world.a), b=_per_test(sweep_world.b))


def world_object(tenant: Any, model: type) -> Any:
    name = model._meta.model_name
    if name in SWEEP_OBJECTS and f"sweep:{name}" not in tenant.objects:
        with tenant_context(tenant.org):
            tenant.objects[f"sweep:{name}"] = SWEEP_OBJECTS[name](tenant, name)
    with tenant_context(tenant.org):
        obj = tenant.objects.get(f"sweep:{name}") or tenant.objects.get(name)
        if obj is None:
            obj = model.objects.order_by("pk").first()
        assert obj is not None, f"the test world has no {model.__name__} in {tenant.org}"
        return obj


def url_for(route: Route, tenant: Any, model: type | None) -> str:
    kwargs: dict[str, Any] = {}
    obj = world_object(tenant, model) if model is not None and route.kwargs else None
    for name in route.kwargs:
        if name in OBJECT_KWARGS:
            kwargs[name] = obj.pk
        elif name == "content_type_id":
            kwargs[name] = ContentType.objects.get_for_model(model).pk
        elif name == "app_label":
            kwargs[name] = model._meta.app_label if model else "revops"
        elif name in FIXED_KWARGS:
            kwargs[name] = FIXED_KWARGS[name]
        elif obj is not None and hasattr(obj, name):
            kwargs[name] = getattr(obj, name)
        else:
            raise AssertionError(f"{route.name}: the sweep does not know how to fill <{name}>")
    return reverse(route.name, kwargs=kwargs)


def request(client: Any, method: str, url: str, is_api: bool) -> Any:
    fn = getattr(client, method.lower())
    if is_api and method in ("POST", "PUT", "PATCH"):
        return fn(url, {}, format="json")
    return fn(url)


def a_role_allowed(resource: str, action: str) -> str | None:
    for role in (Role.ADMIN, Role.REVOPS_ANALYST, Role.EXECUTIVE, Role.BILLING_MANAGER, Role.REP, Role.INTEGRATOR):
        if allowed(role, resource, action):
            return role
    return None


SWEPT = [r for r in ROUTES if r.name not in PUBLIC_ROUTES]


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_declares_access(route: Route) -> None:
    assert route.name, f"unnamed URL pattern {route.route}: every route needs a name"
    if route.name in PUBLIC_ROUTES:
        return
    m = meta(route)
    assert m.resource in MATRIX, f"{route.name} ({route.route}) declares no resource of the permission matrix"
    if any(k in OBJECT_KWARGS for k in route.kwargs):
        assert m.model is not None, f"{route.name} takes an object id but names no model"


def b_only_object(route: Route, world: Any, model: type) -> Any:
    """For routes addressed by a natural key (external id, employee id): a row of b whose key
    a does not use, so that reaching it could only be a leak."""
    natural = [k for k in route.kwargs if k not in OBJECT_KWARGS and k not in ("content_type_id", "app_label")]
    obj = world_object(world.b, model)
    if not natural:
        return obj
    with tenant_context(world.b.org):
        obj.pk = obj.id = None
        obj._state.adding = True
        for name in natural:
            setattr(obj, name, f"sweep-b-only-{name}")
        obj.save()
    world.b.objects[f"sweep:{model._meta.model_name}"] = obj
    return obj


def stored(model: type, obj: Any, tenant: Any) -> dict[str, Any]:
    with tenant_context(tenant.org):
        return model.objects.filter(pk=obj.pk).values().first()


def check_other_organizations_object_is_404(route: Route, world: Any) -> None:
    if not any(k != "app_label" and k not in FIXED_KWARGS for k in route.kwargs):
        return
    m = meta(route)
    target = b_only_object(route, world, m.model) if m.model is not None else None
    before = stored(m.model, target, world.b) if target is not None else None
    url = url_for(route, world.b, m.model)
    addressed_by_natural_key = not any(k in OBJECT_KWARGS for k in route.kwargs)
    for method, declared in m.methods.items():
        action = expected_action(method, declared)
        role = a_role_allowed(m.resource, action)
        if role is None:
            continue
        clients = [(f"session:{role}", world.a.api(role) if m.is_api else world.a.client(role))]
        if m.is_api and allowed(Role.INTEGRATOR, m.resource, action):
            clients.append(("api-key", world.a.api()))
        for label, client in clients:
            response = request(client, method, url, m.is_api)
            if method == "PUT" and addressed_by_natural_key:
                # An upsert by a key a does not use creates (or refuses) a row of a's own.
                assert response.status_code in (201, 400), f"{method} {url} as {label}: {response.status_code}"
            else:
                assert response.status_code == 404, f"{method} {url} as {label}: {response.status_code}"
    if target is not None:
        assert stored(m.model, target, world.b) == before, "organization b's row was changed"


def check_responses_never_contain_another_organizations_data(route: Route, world: Any) -> dict[str | None, int]:
    """GET as every role allowed to; returns their status codes by role (None: the API key) for the role check."""
    m = meta(route)
    if "GET" not in m.methods:
        return {}
    url = url_for(route, world.a, m.model)
    action = expected_action("GET", m.methods["GET"])
    statuses: dict[str | None, int] = {}
    for role in Role.values:
        if not allowed(role, m.resource, action):
            continue
        client = world.a.api(role) if m.is_api else world.a.client(role)
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert not FOREIGN_MARKERS.search(body), f"GET {url} as {role} shows organization b's data"
        statuses[role] = response.status_code
    if m.is_api and allowed(Role.INTEGRATOR, m.resource, action):
        response = world.a.api().get(url)
        assert not FOREIGN_MARKERS.search(response.content)
        statuses[None] = response.status_code
    assert statuses, f"no role may GET {route.name}; is the matrix entry right?"
    return statuses


def check_roles_get_403_where_the_matrix_says_no(route: Route, world: Any, got: dict[str | None, int]) -> None:
    """Every method as every role (and the API key): 403 exactly where the matrix says no. ``got`` holds the
    status codes of the GETs the data check already made as the allowed roles; those are not asked again."""
    m = meta(route)
    url = url_for(route, world.a, m.model)
    for method, declared in m.methods.items():
        action = expected_action(method, declared)
        for role in Role.values:
            if method == "GET" and role in got:
                status = got[role]
            else:
                client = world.a.api(role) if m.is_api else world.a.client(role)
                status = request(client, method, url, m.is_api).status_code
            if allowed(role, m.resource, action):
                assert status != 403, f"{method} {url} as {role}: 403 but the matrix allows {action}"
            else:
                assert status == 403, f"{method} {url} as {role}: {status}, expected 403"
        if m.is_api:
            if method == "GET" and None in got:
                status = got[None]
            else:
                status = request(world.a.api(), method, url, m.is_api).status_code
            if allowed(Role.INTEGRATOR, m.resource, action):
                assert status != 403, f"{method} {url} with an API key: 403"
            else:
                assert status == 403, f"{method} {url} with an API key: {status}"


def check_anonymous_requests_get_nothing(route: Route, world: Any) -> None:
    from django.test import Client
    from rest_framework.test import APIClient

    m = meta(route)
    url = url_for(route, world.a, m.model)
    client = APIClient() if m.is_api else Client()
    for method in m.methods:
        response = request(client, method, url, m.is_api)
        assert response.status_code in (301, 302, 401, 403), f"anonymous {method} {url}: {response.status_code}"
        if response.status_code in (301, 302):
            assert "login" in response["Location"], response["Location"]


@pytest.mark.parametrize("route", SWEPT, ids=str)
def test_route_isolation_and_roles(route: Route, world: Any) -> None:
    """All four checks on one world per route (building the world is the expensive part).

    Order matters: the role check may delete a's own object with an allowed role.
    """
    got = check_responses_never_contain_another_organizations_data(route, world)
    check_other_organizations_object_is_404(route, world)
    check_roles_get_403_where_the_matrix_says_no(route, world, got)
    check_anonymous_requests_get_nothing(route, world)


def test_the_sweep_sees_the_pages_the_admin_and_the_api() -> None:
    names = {r.name for r in SWEPT}
    assert "home" in names
    assert any(n.startswith("admin:") for n in names), "no admin page was found"
    assert sum(1 for r in SWEPT if meta(r).is_api) >= 10, "too few API routes were found"
    # Routes added with the Feeds page and the KPI trend (a URL naming no tenant row: FIXED_KWARGS).
    assert {"billing_feeds", "billing_feed_new", "billing_feed_edit", "billing_feed_poll", "billing_feed_active",
            "billing_feed_delete", "billing_kpi_trend", "api-rcm-feed-poll"} <= names
    # Territory design: the pages, their htmx edits and the API, approve/activate included.
    assert {"territories_plans", "territories_plan", "territories_plan_move", "territories_plan_approve",
            "territories_plan_activate", "territories_plan_diff", "territories_ownership", "territories_rule_edit",
            "api-territories-plan-approve", "api-territories-plan-activate", "api-territories-rule-bulk",
            "api-territories-assignment-list", "api-territories-territory-merge"} <= names

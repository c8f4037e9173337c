"""Reference-data pages at /manage/: a Django admin site scoped to the active organization.

It is not Django's staff admin. Who may open it comes from the permission matrix (resource
"reference": viewing for GET, changing for anything else), not from ``is_staff``; every
queryset and every foreign-key choice comes from the tenant-scoped managers, so another
organization's rows are never listed and their ids answer 404. Django's ``LogEntry`` is a
global table that would keep object names of every organization side by side, so nothing is
written to it: ``revops.audit`` already records each change as an ``AuditEvent`` of the
organization, and each object's "History" page shows those.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import update_wrapper
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Concat
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET

from revops import selectors, services
from revops.access import CHANGE, VIEW, action_for_method, allowed
from revops.exports import FORMATS, Column, columns_for_model, export_response
from revops.imports import npi_is_valid, zip_lookup
from revops.models import (
    Account,
    Facility,
    Membership,
    Payer,
    Person,
    Program,
    ReportingLine,
    ServiceLine,
    Team,
)


class TenantAdminSite(admin.AdminSite):
    """The admin machinery (lists, filters, search, forms) over one organization's reference data."""

    access_resource = "reference"
    site_title = "revops"
    site_header = "Reference data"
    index_title = "Reference data"
    site_url = "/"
    index_template = "admin/revops_index.html"
    # Unknown URLs get a plain 404 instead of the catch-all view (every route here has a name).
    final_catch_all_view = False

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(
            request.user.is_active
            and request.user.is_authenticated
            and getattr(request, "tenant", None) is not None
            and allowed(getattr(request, "role", None), self.access_resource, VIEW)
        )

    def admin_view(self, view: Callable[..., Any], cacheable: bool = False) -> Callable[..., Any]:
        """Signed in and a member, else to our login; then the matrix: 403 for a role without the right."""

        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("login"))
            if getattr(request, "tenant", None) is None:
                return redirect("no_organization")
            action = action_for_method(request.method or "GET")
            if not allowed(getattr(request, "role", None), self.access_resource, action):
                raise PermissionDenied(f"Your role may not {action} reference data.")
            return view(request, *args, **kwargs)

        if not cacheable:
            inner = never_cache(inner)
        if not getattr(view, "csrf_exempt", False):
            inner = csrf_protect(inner)
        return update_wrapper(inner, view)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        target = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        return redirect_to_login(target, reverse("login"))

    def logout(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        from revops.views.auth import LogoutView

        return LogoutView.as_view()(request)

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            context["site_header"] = f"{tenant.name} · Reference data"
        return context

    def get_urls(self) -> list[Any]:
        # "View on site" follows a content type and id to get_absolute_url; nothing here has one.
        return [p for p in super().get_urls() if getattr(p, "name", None) != "view_on_site"]

    def autocomplete_view(self, request: HttpRequest) -> HttpResponse:
        # Django answers a request without the widget's parameters with 403; for a role that
        # may view reference data that is a malformed request, not a missing right.
        if not {"app_label", "model_name", "field_name"} <= set(request.GET):
            return HttpResponseBadRequest("Missing app_label, model_name or field_name.")
        return super().autocomplete_view(request)


site = TenantAdminSite(name="admin")


class ReferenceAdmin(admin.ModelAdmin):
    """Base of every model admin here: matrix permissions, no LogEntry, 404s, exports, history."""

    list_per_page = 50
    view_on_site = False
    actions = ["export_csv", "export_xlsx"]
    # Columns of the CSV/Excel export; every concrete field when None.
    export_columns: list[Column] | None = None

    # --- permissions from the matrix ------------------------------------------------------
    def _may(self, request: HttpRequest, action: str) -> bool:
        return allowed(getattr(request, "role", None), "reference", action)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may(request, VIEW)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, VIEW)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._may(request, CHANGE)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, CHANGE)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, CHANGE)

    # --- no writes to the global LogEntry table -------------------------------------------
    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> None:
        return None

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> None:
        return None

    def log_deletion(self, request: HttpRequest, obj: Any, object_repr: str) -> None:
        return None

    def log_deletions(self, request: HttpRequest, queryset: Any) -> None:
        return None

    # --- another organization's id (or a deleted row) is a 404, not a redirect ------------
    def _get_obj_does_not_exist_redirect(self, request: HttpRequest, opts: Any, object_id: str) -> HttpResponse:
        raise Http404(f"No {opts.verbose_name} with id {object_id!r}.")

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_add_permission(request):
            messages.info(request, "Your role can look at reference data but not add to it.")
            return redirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))
        return super().add_view(request, form_url, extra_context)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_delete_permission(request):
            obj = self.get_object(request, unquote(object_id))
            if obj is None:
                raise Http404(f"No {self.opts.verbose_name} with id {object_id!r}.")
            messages.info(request, "Your role can look at reference data but not delete it.")
            return redirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk]))
        return super().delete_view(request, object_id, extra_context)

    # --- foreign keys to logins: only this organization's members -------------------------
    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.related_model is get_user_model():
            kwargs["queryset"] = get_user_model().objects.filter(
                pk__in=Membership.objects.values("user_id")
            ).order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # --- history from the organization's audit trail --------------------------------------
    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        from revops.views.audit import event_changes

        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with id {object_id!r}.")
        events = selectors.audit_events(model=self.opts.label, object_pk=str(obj.pk))[:200]
        audit_url = None
        if allowed(getattr(request, "role", None), "audit", VIEW):
            audit_url = f"{reverse('audit_log')}?model={self.opts.label}&object_pk={obj.pk}"
        context = {
            **self.admin_site.each_context(request),
            "title": f"History of {obj}",
            "subtitle": None,
            "object": obj,
            "opts": self.opts,
            "rows": [{"event": e, "changes": event_changes(e)} for e in events],
            "audit_url": audit_url,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/revops/object_history.html", context)

    # --- exports ---------------------------------------------------------------------------
    def get_export_columns(self) -> list[Column]:
        return self.export_columns or columns_for_model(self.model)

    def _export(self, queryset: QuerySet, fmt: str) -> HttpResponse:
        stem = str(self.opts.verbose_name_plural)
        return export_response(rows=queryset, columns=self.get_export_columns(), stem=stem, fmt=fmt)

    @admin.action(description="Export selected rows to CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return self._export(queryset, "csv")

    @admin.action(description="Export selected rows to Excel", permissions=["view"])
    def export_xlsx(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return self._export(queryset, "xlsx")

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """GET: the list as filtered and searched on the page, as CSV or Excel (any viewing role)."""
        params = request.GET.copy()
        fmt = params.pop("format", ["csv"])[-1]
        if fmt not in FORMATS:
            fmt = "csv"
        request.GET = params
        changelist = self.get_changelist_instance(request)
        return self._export(changelist.get_queryset(request), fmt)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(require_GET(self.export_view))

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return view(*args, **kwargs)

        wrapper.model_admin = self  # type: ignore[attr-defined]
        info = (self.opts.app_label, self.opts.model_name)
        export = [path("export/", update_wrapper(wrapper, view), name="%s_%s_export" % info)]
        # Django's unnamed "<id>/" redirect (the old change URL) is left out: every route is named.
        return export + [p for p in super().get_urls() if p.name]


def _today_line() -> QuerySet:
    today = timezone.localdate()
    return ReportingLine.objects.filter(person=OuterRef("pk"), valid_from__lte=today).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=today)
    )


class ReportingLineInline(admin.TabularInline):
    """A person's reporting history; changes go through the Reporting lines page (the service)."""

    model = ReportingLine
    fk_name = "person"
    fields = ("manager", "valid_from", "valid_to")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-valid_from",)
    verbose_name = "reporting line"
    verbose_name_plural = "Reporting lines (add or change them under Reporting lines)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allowed(getattr(request, "role", None), "reference", VIEW)


class EmploymentFilter(admin.SimpleListFilter):
    title = "employment"
    parameter_name = "employed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Employed today"), ("no", "Terminated")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        today = timezone.localdate()
        active = Q(hire_date__lte=today) & (Q(termination_date__isnull=True) | Q(termination_date__gte=today))
        if self.value() == "yes":
            return queryset.filter(active)
        if self.value() == "no":
            return queryset.filter(termination_date__lt=today)
        return queryset


@admin.register(Person, site=site)
class PersonAdmin(ReferenceAdmin):
    list_display = ("last_name", "first_name", "employee_id", "role", "title", "team", "manager_today",
                    "hire_date", "termination_date")
    list_display_links = ("last_name", "first_name")
    list_filter = ("role", EmploymentFilter, "team")
    search_fields = ("first_name", "last_name", "employee_id", "email", "title")
    autocomplete_fields = ("team",)
    inlines = [ReportingLineInline]
    fieldsets = (
        (None, {"fields": (("first_name", "last_name"), "employee_id", "email", "title", "role", "team")}),
        ("Employment", {"fields": ("hire_date", "termination_date"),
                        "description": "Setting a termination date also ends the person's open reporting line."}),
        ("Login", {"fields": ("user",), "description": "The member's login, when this person signs in."}),
    )
    export_columns = [
        Column("employee_id", "employee_id"),
        Column("first_name", "first_name"),
        Column("last_name", "last_name"),
        Column("email", "email"),
        Column("title", "title"),
        Column("role", "role"),
        Column("team", "team.name"),
        Column("hire_date", "hire_date"),
        Column("termination_date", "termination_date"),
        Column("manager_today", "manager_today"),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        line = _today_line().annotate(
            manager_name=Concat("manager__first_name", Value(" "), "manager__last_name")
        )
        return super().get_queryset(request).select_related("team").annotate(
            manager_today=Subquery(line.values("manager_name")[:1])
        )

    @admin.display(description="Manager today", ordering="manager_today")
    def manager_today(self, obj: Person) -> str:
        return getattr(obj, "manager_today", "") or "—"

    def save_model(self, request: HttpRequest, obj: Person, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "termination_date" in form.changed_data and obj.termination_date:
            services.person_terminate(person=obj, on=obj.termination_date)


class _DryRun(Exception):
    """Rolls back a trial run of a service inside form validation."""


class ReportingLineAssignForm(forms.ModelForm):
    """Adding a line: the service closes the line in force and refuses cycles; a dry run shows its errors here."""

    class Meta:
        model = ReportingLine
        fields = ("person", "manager", "valid_from")
        help_texts = {"valid_from": "From this day on; the line in force that day is closed."}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        person, manager, valid_from = cleaned.get("person"), cleaned.get("manager"), cleaned.get("valid_from")
        if person is None or manager is None or valid_from is None or self.errors:
            return cleaned
        try:
            with transaction.atomic():
                services.reporting_line_assign(person=person, manager=manager, valid_from=valid_from)
                raise _DryRun
        except _DryRun:
            pass
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None
        return cleaned

    def validate_unique(self) -> None:
        """The service checks overlaps itself (it closes the line in force before adding one)."""


class ReportingLineChangeForm(forms.ModelForm):
    """Changing a line: only its end date; the periods of one person must not overlap."""

    class Meta:
        model = ReportingLine
        fields = ("valid_to",)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        line = self.instance
        end = cleaned.get("valid_to")
        others = ReportingLine.objects.filter(person_id=line.person_id).exclude(pk=line.pk)
        for other in others:
            if other.valid_from < (end or dt.date.max) and line.valid_from < (other.valid_to or dt.date.max):
                raise ValidationError(
                    f"That would overlap the line to {other.manager} from {other.valid_from}."
                )
        return cleaned


@admin.register(ReportingLine, site=site)
class ReportingLineAdmin(ReferenceAdmin):
    list_display = ("person", "manager", "valid_from", "valid_to", "in_force_today")
    list_filter = ("valid_from",)
    search_fields = ("person__first_name", "person__last_name", "person__employee_id",
                     "manager__first_name", "manager__last_name", "manager__employee_id")
    autocomplete_fields = ("person", "manager")
    date_hierarchy = "valid_from"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("person", "manager")

    @admin.display(boolean=True, description="In force today")
    def in_force_today(self, obj: ReportingLine) -> bool:
        today = timezone.localdate()
        return obj.valid_from <= today and (obj.valid_to is None or obj.valid_to > today)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = ReportingLineChangeForm if obj is not None else ReportingLineAssignForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("person", "manager", "valid_from")
        return ("person", "manager", "valid_from", "valid_to")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        return ("person", "manager", "valid_from")

    def save_model(self, request: HttpRequest, obj: ReportingLine, form: forms.ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        line = services.reporting_line_assign(person=obj.person, manager=obj.manager, valid_from=obj.valid_from)
        assert line is not None
        obj.pk, obj.tenant_id, obj.valid_to = line.pk, line.tenant_id, line.valid_to


@admin.register(Team, site=site)
class TeamAdmin(ReferenceAdmin):
    list_display = ("name", "parent", "service_line", "people_count")
    ordering = ("name",)  # Meta.ordering is dropped from GROUP BY queries (the count)
    list_filter = ("service_line",)
    search_fields = ("name",)
    autocomplete_fields = ("parent", "service_line")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("parent", "service_line").annotate(
            people_count=Count("people")
        )

    @admin.display(description="People", ordering="people_count")
    def people_count(self, obj: Team) -> int:
        return getattr(obj, "people_count", 0)


@admin.register(ServiceLine, site=site)
class ServiceLineAdmin(ReferenceAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")


class NpiZipForm(forms.ModelForm):
    """NPI check digit and a real US ZIP code, the same checks the CSV import makes."""

    def clean_npi(self) -> str:
        npi = (self.cleaned_data.get("npi") or "").strip()
        if npi and not npi_is_valid(npi):
            raise ValidationError("Not a valid NPI (10 digits with a correct check digit).")
        return npi

    def clean_zip_code(self) -> str:
        zip_code = (self.cleaned_data.get("zip_code") or "").strip()
        if zip_code and zip_lookup(zip_code) is None:
            raise ValidationError("Not a US ZIP code.")
        return zip_code

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        zip_code, state = cleaned.get("zip_code"), (cleaned.get("state") or "").upper()
        place = zip_lookup(zip_code) if zip_code else None
        if place and state and place["state"] != state:
            self.add_error("state", f"ZIP code {zip_code} is in {place['state']}.")
        if "state" in cleaned:
            cleaned["state"] = state
        return cleaned


@admin.register(Facility, site=site)
class FacilityAdmin(ReferenceAdmin):
    form = NpiZipForm
    list_display = ("name", "npi", "state", "zip_code", "program_count")
    ordering = ("name",)
    list_filter = ("state",)
    search_fields = ("name", "npi", "zip_code")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(program_count=Count("programs"))

    @admin.display(description="Programs", ordering="program_count")
    def program_count(self, obj: Facility) -> int:
        return getattr(obj, "program_count", 0)


@admin.register(Program, site=site)
class ProgramAdmin(ReferenceAdmin):
    list_display = ("code", "name", "level_of_care", "facility", "place_of_service", "is_part2", "is_active")
    list_filter = ("level_of_care", "is_part2", "is_active", "facility")
    search_fields = ("code", "name")
    autocomplete_fields = ("facility",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("facility")


@admin.register(Payer, site=site)
class PayerAdmin(ReferenceAdmin):
    list_display = ("name", "payer_class", "payer_id", "is_active")
    list_filter = ("payer_class", "is_active")
    search_fields = ("name", "payer_id")


@admin.register(Account, site=site)
class AccountAdmin(ReferenceAdmin):
    form = NpiZipForm
    list_display = ("name", "external_id", "account_type", "specialty", "city", "state", "zip_code",
                    "service_line", "is_active")
    list_filter = ("account_type", "is_active", "service_line", "state")
    search_fields = ("name", "external_id", "npi", "specialty", "city", "zip_code", "county")
    autocomplete_fields = ("service_line",)
    fieldsets = (
        (None, {"fields": ("name", "external_id", "account_type", "specialty", "npi", "service_line", "is_active")}),
        ("Location", {"fields": ("city", "county", "state", "zip_code", ("latitude", "longitude"))}),
    )
    export_columns = [
        Column("external_id", "external_id"),
        Column("name", "name"),
        Column("npi", "npi"),
        Column("specialty", "specialty"),
        Column("account_type", "account_type"),
        Column("service_line", "service_line.name"),
        Column("city", "city"),
        Column("zip_code", "zip_code"),
        Column("county", "county"),
        Column("state", "state"),
        Column("latitude", "latitude"),
        Column("longitude", "longitude"),
        Column("is_active", "is_active"),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("service_line")

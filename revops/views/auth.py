"""Sign-in, sign-out, the organization switcher, and the page for a login with no organization."""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from revops.access import VIEW, AccessRequiredMixin, require_access
from revops.middleware import SESSION_ORG_KEY


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default); the session, and with it the active organization, ends."""


@login_required
def no_organization(request: HttpRequest) -> HttpResponse:
    if getattr(request, "tenant", None) is not None:
        return redirect("home")
    return render(request, "registration/no_organization.html")


@require_access("home", VIEW)
@require_POST
def switch_organization(request: HttpRequest) -> HttpResponse:
    """Make another of the user's organizations the active one (404 if they are not a member)."""
    try:
        wanted = int(request.POST.get("organization", ""))
    except ValueError:
        raise Http404("No such organization.") from None
    membership = next((m for m in getattr(request, "memberships", []) if m.tenant_id == wanted), None)
    if membership is None:
        raise Http404("No such organization.")
    request.session[SESSION_ORG_KEY] = membership.tenant_id
    messages.success(request, f"You are now working in {membership.tenant.name}.")
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = ""
    # Object pages of the old organization would 404 in the new one: land on its home page
    # unless the page asked for a specific, organization-independent destination.
    return redirect(target or "home")


class PasswordChangeView(AccessRequiredMixin, auth_views.PasswordChangeView):
    """Every member replaces the temporary password an admin gave them."""

    access_resource = "home"
    access_action = VIEW
    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form: Any) -> HttpResponse:
        messages.success(self.request, "Your password has been changed.")
        return super().form_valid(form)

"""Members of the organization (admin): list, invite, change role or person link, (de)activate."""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render

from revops import services
from revops.access import require_access
from revops.forms import InviteForm, MembershipForm
from revops.models import Membership, Role


def _is_self(request: HttpRequest, membership: Membership) -> bool:
    return membership.user_id == request.user.pk


@require_access("memberships")
def members(request: HttpRequest) -> HttpResponse:
    rows = Membership.objects.select_related("user", "person").order_by("-is_active", "user__username")
    return render(request, "revops/members/list.html", {"memberships": rows})


@require_access("memberships")
def member_invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        membership = services.user_invite(
            username=data["username"], email=data["email"], role=data["role"],
            password=None if form.existing_login else data["password"],
            first_name=data["first_name"], last_name=data["last_name"],
        )
        if form.existing_login:
            messages.success(request, f"{membership.user.username} already had a login; they can now sign in "
                                      f"to this organization as {membership.get_role_display()}.")
        else:
            messages.success(request, f"Invited {membership.user.username} as {membership.get_role_display()}. "
                                      "Give them the temporary password yourself; it is not shown again.")
        return redirect("members")
    return render(request, "revops/members/invite.html", {"form": form})


@require_access("memberships", model=Membership)
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = get_object_or_404(Membership.objects.select_related("user", "person"), pk=pk)
    form = MembershipForm(request.POST or None, initial={"role": membership.role, "person": membership.person})
    if request.method == "POST" and form.is_valid():
        role = form.cleaned_data["role"]
        if _is_self(request, membership) and role != Role.ADMIN:
            form.add_error("role", "You cannot take the admin role from yourself; ask another admin.")
        else:
            services.membership_upsert(user=membership.user, role=role, person=form.cleaned_data["person"],
                                       is_active=membership.is_active)
            messages.success(request, f"Saved {membership.user.username}.")
            return redirect("members")
    return render(request, "revops/members/edit.html", {"membership": membership, "form": form,
                                                        "is_self": _is_self(request, membership)})


@require_access("memberships", model=Membership)
def member_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    """POST ``active=0`` deactivates a membership, ``active=1`` reactivates it; the login itself stays."""
    membership = get_object_or_404(Membership.objects.select_related("user", "person"), pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if request.POST.get("active") not in ("0", "1"):
        return HttpResponseBadRequest("Say active=0 or active=1.")
    active = request.POST["active"] == "1"
    if _is_self(request, membership) and not active:
        messages.error(request, "You cannot deactivate your own membership.")
        return redirect("member_edit", pk=membership.pk)
    services.membership_upsert(user=membership.user, role=membership.role, person=membership.person,
                               is_active=active)
    verb = "reactivated" if active else "deactivated"
    messages.success(request, f"{membership.user.username} {verb}.")
    return redirect("members")

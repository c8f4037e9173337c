"""Page URLs of the shared layer: sign-in, home, settings, audit, jobs, imports, and /manage/."""
from django.urls import path

from revops.admin import site as manage_site
from revops.views import api_keys, audit, auth, home, imports, jobs, members, schedules

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("no-organization/", auth.no_organization, name="no_organization"),
    path("switch-organization/", auth.switch_organization, name="switch_organization"),
    path("account/password/", auth.PasswordChangeView.as_view(), name="password_change"),
    # Settings (admin role; schedules also readable by analysts and billing managers).
    path("settings/members/", members.members, name="members"),
    path("settings/members/invite/", members.member_invite, name="member_invite"),
    path("settings/members/<int:pk>/", members.member_edit, name="member_edit"),
    path("settings/members/<int:pk>/active/", members.member_set_active, name="member_set_active"),
    path("settings/api-keys/", api_keys.api_keys, name="api_keys"),
    path("settings/api-keys/<int:pk>/revoke/", api_keys.api_key_revoke, name="api_key_revoke"),
    path("settings/schedules/", schedules.schedules, name="schedules"),
    path("settings/schedules/new/", schedules.schedule_new, name="schedule_new"),
    path("settings/schedules/<int:pk>/", schedules.schedule_edit, name="schedule_edit"),
    path("settings/schedules/<int:pk>/delete/", schedules.schedule_delete, name="schedule_delete"),
    path("audit/", audit.audit_log, name="audit_log"),
    path("audit/export/", audit.audit_export, name="audit_export"),
    path("jobs/", jobs.jobs, name="jobs"),
    path("jobs/<int:pk>/", jobs.job_detail, name="job_detail"),
    path("jobs/<int:pk>/progress/", jobs.job_progress, name="job_progress"),
    path("jobs/<int:pk>/rejected-rows.csv", jobs.job_errors_csv, name="job_errors_csv"),
    path("imports/", imports.import_upload, name="import_upload"),
    path("imports/template.csv", imports.import_template, name="import_template"),
    # Reference data: a tenant-scoped Django admin site (revops.admin).
    path("manage/", manage_site.urls),
]

from django.apps import AppConfig


class RevopsConfig(AppConfig):
    name = "revops"
    verbose_name = "Organization and reference data"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from revops import audit, models

        for model in (
            models.Membership,
            models.ApiKey,
            models.Person,
            models.ReportingLine,
            models.Team,
            models.ServiceLine,
            models.Facility,
            models.Program,
            models.Payer,
            models.Account,
            models.TenantSchedule,
        ):
            audit.audited(model)

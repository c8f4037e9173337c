from django.apps import AppConfig


class ScenariosConfig(AppConfig):
    name = "scenarios"
    verbose_name = "What-if scenarios"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from revops import audit

        from . import models

        # Creating, sharing, recomputing and deleting a scenario are audit events.
        audit.audited(models.Scenario)

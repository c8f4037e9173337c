from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "intake"
    verbose_name = "Intake, utilization review and program economics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from revops import audit

        from . import models, tiles  # noqa: F401  (tiles: registers the executive dashboard's program tile)

        # Claim links are derived rows, rebuilt set-based: not audited.
        for model in (models.Admission, models.ProgramCost, models.Authorization, models.IntakeRule):
            audit.audited(model)

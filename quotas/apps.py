from django.apps import AppConfig


class QuotasConfig(AppConfig):
    name = "quotas"
    verbose_name = "Quota management"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from revops import audit

        from . import models

        # Plans, overrides, bottom-up submissions and seasonality edits are audited row by row;
        # allocation, phasing and attainment rewrite many rows at once and record one bulk event.
        for model in (models.QuotaPlan, models.Quota, models.SeasonalityProfile):
            audit.audited(model)

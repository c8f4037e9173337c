from django.apps import AppConfig


class ForecastingConfig(AppConfig):
    name = "forecasting"
    verbose_name = "Forecasting"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from revops import audit

        from . import models

        # Stages and periods are edited row by row and audited; opportunities are synced in bulk
        # (one audit event per upsert) and calls are their own append-only history.
        for model in (models.Stage, models.ForecastPeriod):
            audit.audited(model)

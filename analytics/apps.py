from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Performance analytics and the executive command center"
    default_auto_field = "django.db.models.BigAutoField"

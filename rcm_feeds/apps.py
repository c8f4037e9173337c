from django.apps import AppConfig


class RcmFeedsConfig(AppConfig):
    name = "rcm_feeds"
    default_auto_field = "django.db.models.BigAutoField"

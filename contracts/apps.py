from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = "Payer contracts"
    default_auto_field = "django.db.models.BigAutoField"

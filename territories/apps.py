from django.apps import AppConfig


class TerritoriesConfig(AppConfig):
    name = "territories"
    verbose_name = "Territory design"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from revops import audit

        from . import models

        # Every edit of a plan is audited (issue 4); plan assignments and ownership history are
        # written in bulk by the services, which record one audit event per bulk write.
        for model in (models.TerritoryPlan, models.Territory, models.AssignmentRule, models.Coverage,
                      models.AccountVolume):
            audit.audited(model)

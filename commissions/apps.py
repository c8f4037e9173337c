from django.apps import AppConfig


class CommissionsConfig(AppConfig):
    name = "commissions"
    verbose_name = "Commission management"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from revops import audit

        from . import models

        # Every edit of plans, rules, assignments, sign-offs, periods, statements and disputes is an
        # audit event (who, when, before, after). Transactions, splits and line items are written in
        # bulk (COPY) and record one bulk event per load or run.
        for model in (models.CompPlan, models.CompPlanVersion, models.Component, models.ComplianceSignoff,
                      models.PlanAssignment, models.CreditRule, models.CommissionPeriod, models.Statement,
                      models.ManualAdjustment, models.Dispute, models.DisputeMessage):
            audit.audited(model)

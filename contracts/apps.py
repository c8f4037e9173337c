from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = "Payer contracts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from revops import audit

        from . import models, tiles  # noqa: F401  (tiles: registers the executive dashboard's underpayment tile)

        # Every edit of contracts, versions, terms and reviews (decisions included) is an audit event. The
        # expected reimbursement rows are written in bulk by the recompute and are derived data.
        for model in (models.Contract, models.ContractVersion, models.ContractTerm, models.ContractReview):
            audit.audited(model)

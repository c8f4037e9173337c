"""revops: project settings and what every app shares (tenancy, access, people, payers, audit, jobs)."""
from .celery import app as celery_app

__all__ = ["celery_app"]

"""Check every organization's RCM fact tables for links that point at nothing (see rcm_feeds.integrity)."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from rcm_feeds.integrity import integrity_problems, unconstrained_links
from revops.models import Organization
from revops.tenancy import tenant_context


class Command(BaseCommand):
    help = "Count RCM rows whose unconstrained links (rcm_feeds.integrity) point at a missing row; exit 1 if any."

    def handle(self, *args: Any, **options: Any) -> None:
        links = unconstrained_links()
        bad = 0
        organizations = list(Organization.objects.order_by("pk"))
        for org in organizations:
            with tenant_context(org):
                problems = integrity_problems()
            for label, count in problems.items():
                bad += count
                self.stdout.write(f"{org.name}: {count:,} rows of {label} point at no row of the organization")
        if bad:
            raise CommandError(f"{bad:,} dangling links")
        self.stdout.write(f"{len(organizations)} organizations, {len(links)} links checked: no dangling ids")

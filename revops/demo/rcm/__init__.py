"""The demo organizations' billing (RCM) history, loaded through the real ingestion path.

``rcm_seed`` gives one demo organization its feeds (each polled on a schedule) and 18 months of
billing files ending in December of the demo year, simulated by ``simulate.History``: monthly
837 batches, 277CA acknowledgments, semi-monthly 835 remittances, month-end A/R aging snapshots
and revenue-cycle cost entries. Each file is received and loaded as a feed's file is
(``rcm_feeds.services.ingestion_load``: stored by content hash, parsed, balanced, written with
COPY, denials detected and overturned by later payments), in the order the files arrived, and the
billing team's denial work (appeals, write-offs) is recorded with the denial services in between.
The KPI aggregates are rebuilt once at the end.

Idempotent and resumable: a file whose content was received before is skipped, a lifecycle step
already taken is not taken again, and a history whose last file is there is not generated at all.
``scale_units`` adds a benchmark batch of claims (``BENCH_CLAIMS_PER_UNIT``) as files of its own.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from rcm_feeds.aggregates import aggregates_refresh
from rcm_feeds.models import (
    ArBalance,
    Claim,
    ClaimLine,
    ClaimPayment,
    Denial,
    DenialStatus,
    Feed,
    FileSource,
    RcmCost,
    ReceivedFile,
    RunStatus,
)
from rcm_feeds.services import denial_appeal, denial_write_off, feed_save, ingestion_load
from revops.demo import catalog, geo
from revops.demo.names import person_name
from revops.models import Account, Facility, Organization, Payer, Program
from revops.tenancy import Actor, actor_context, tenant_context

from . import profiles
from .files import Party, PayerRef
from .simulate import (
    MONTHS,
    Action,
    Client,
    FileEvent,
    History,
    OrgInputs,
    ProgramSite,
    Site,
    final_filename,
    first_batch_ending,
    mean_month_factor,
)

# Claims per benchmark unit (``--scale N`` adds N - 1 units). Meridian's requisitions average about
# five tests, so scale 100 is about a million claims and five million claim lines for Meridian.
BENCH_CLAIMS_PER_UNIT = {"meridian-dx": 10_000, "riverbend-bh": 2_000}
SUBMITTERS = {"riverbend-bh": ("RIVERBEND01", "621847305"), "meridian-dx": ("MERIDIANDX1", "593318274")}
# When in the day files of each kind land in their inbox (for their received_at).
ARRIVAL_TIME = {"x12_837": dt.time(19, 5), "x12_277ca": dt.time(7, 40), "x12_835": dt.time(6, 15),
                "csv_ar": dt.time(23, 30), "csv_costs": dt.time(23, 45)}
LOADED = (RunStatus.LOADED, RunStatus.LOADED_WITH_WARNINGS, RunStatus.PARTIAL, RunStatus.DUPLICATE)


@dataclass
class RcmOutcome:
    """What ``rcm_seed`` did for one organization and what the organization now holds."""

    files_loaded: int = 0
    files_skipped: int = 0
    runs: Counter[str] = field(default_factory=Counter)
    appeals: int = 0
    write_offs: int = 0
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def bench_volume(slug: str, units: int, year: int) -> float:
    """The ``History`` volume of a benchmark batch of ``units`` units (demo core = 1.0)."""
    lab = slug == "meridian-dx"
    per_month = BENCH_CLAIMS_PER_UNIT[slug] * units / MONTHS
    base = (profiles.MERIDIAN_CLAIMS_PER_MONTH if lab
            else sum(b.claims_per_month for b in profiles.RIVERBEND_BILLING.values()))
    return per_month / (base * mean_month_factor(year, lab))


def _inputs(org: Organization) -> OrgInputs:
    slug = org.slug
    lab = slug == "meridian-dx"
    specs = catalog.MERIDIAN_PAYERS if lab else catalog.RIVERBEND_PAYERS
    classes = profiles.MERIDIAN_X12_CLASSES if lab else profiles.RIVERBEND_X12_CLASSES
    shares = {spec.name: float(spec.share) for spec in specs}
    payers = [(PayerRef(p.name, p.payer_id, p.payer_class), shares[p.name])
              for p in Payer.objects.filter(name__in=shares, payer_class__in=classes).order_by("name")]
    etin, tax_id = SUBMITTERS[slug]
    keys = {f.name: f.key for f in (catalog.MERIDIAN_FACILITIES if lab else catalog.RIVERBEND_FACILITIES)}
    sites = {}
    for i, facility in enumerate(Facility.objects.filter(name__in=keys).order_by("name")):
        place = geo.place(facility.zip_code)
        party = Party(facility.name, facility.npi, f"{(i + 2) * 1100} Health Park Drive", place.city, place.state,
                      place.zip_code, tax_id)
        sites[keys[facility.name]] = Site(keys[facility.name], party, facility.state)
    main = sites["tpa" if lab else "nsh"].party
    inputs = OrgInputs(slug, Party(org.name, etin), Party(org.name, main.identifier, tax_id=tax_id), payers, sites)
    if lab:
        accounts = Account.objects.filter(external_id__lt=f"MDX-ACC-{catalog.MERIDIAN_CORE_ACCOUNTS:07d}",
                                          specialty__in=profiles.ORDERS_BY_SPECIALTY).exclude(npi="")
        for external_id, specialty, state, npi in accounts.order_by("external_id").values_list(
                "external_id", "specialty", "state", "npi"):
            first, last = person_name(random.Random(external_id))
            inputs.clients.append(Client(specialty, state, npi, (last, first)))
    else:
        by_name = {site.party.name: site for site in sites.values()}
        programs = Program.objects.filter(code__in=profiles.RIVERBEND_BILLING).order_by("code")
        for code, facility, place_of_service in programs.values_list("code", "facility__name", "place_of_service"):
            inputs.programs.append(ProgramSite(code, by_name[facility], profiles.RIVERBEND_BILLING[code],
                                               place_of_service))
        # Referral sources: the core accounts with an NPI (a scaled-up organization's extra accounts are
        # left out, so the billing history is the same at every scale).
        core_accounts = catalog.RIVERBEND_ACCOUNTS_PER_FACILITY * len(catalog.RIVERBEND_FACILITIES)
        referrers = Account.objects.exclude(npi="").filter(external_id__startswith="RB-REF-",
                                                           external_id__lt=f"RB-REF-{core_accounts:07d}")
        for external_id, specialty, state, npi in referrers.order_by("external_id").values_list(
                "external_id", "specialty", "state", "npi"):
            first, last = person_name(random.Random(external_id))
            inputs.referrers.append(Client(specialty, state, npi, (last, first)))
    return inputs


def _feeds(org: Organization) -> dict[str, Feed]:
    """The organization's demo feeds by key, created (with their polling schedules) when missing."""
    programs = dict(Program.objects.values_list("code", "name"))
    out = {}
    for plan in profiles.feeds_for(org.slug, programs):
        feed = Feed.objects.filter(name=plan.name).first()
        if feed is None:
            source = Program.objects.get(code=plan.source_program) if plan.source_program else None
            feed = feed_save(name=plan.name, kind=plan.kind, inbox_dir=plan.inbox_dir, crontab=plan.crontab,
                             column_mapping=plan.column_mapping, source_program=source)
        out[plan.key] = feed
    return out


# Tables the loads read back (claims by control number, open denials, overturn candidates), and the
# others the KPI aggregates read.
LOOKED_UP = ("rcm_feeds_receivedfile", "rcm_feeds_claim", "rcm_feeds_remittance", "rcm_feeds_claimpayment",
             "rcm_feeds_servicepayment", "rcm_feeds_denial", "rcm_feeds_acknowledgment")
AGGREGATED = ("rcm_feeds_claimline", "rcm_feeds_adjustment", "rcm_feeds_arbalance", "rcm_feeds_rcmcost")


def _analyze(tables: tuple[str, ...] = LOOKED_UP) -> None:
    """Refresh the planner's statistics of the RCM tables.

    The history arrives as hundreds of small files in a few seconds, so the tables grow from empty
    faster than autovacuum samples them, and statistics that still say "this tenant has almost no
    rows" give the lookups of each load (overturn candidates above all) nested-loop plans over every
    payment. Done whenever the loaded files have doubled, so a few times per history.
    """
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'ANALYZE "{table}"')


def _load(event: FileEvent, feed: Feed, outcome: RcmOutcome) -> None:
    sha = hashlib.sha256(event.content).hexdigest()
    if ReceivedFile.objects.filter(sha256=sha).exists():
        outcome.files_skipped += 1
        return
    received_at = timezone.make_aware(dt.datetime.combine(event.arrives, ARRIVAL_TIME[feed.kind]))
    run = ingestion_load(feed=feed, filename=event.filename, stream=io.BytesIO(event.content),
                         source=FileSource.INBOX, received_at=received_at, refresh_aggregates=False)
    if run.status not in LOADED:
        raise RuntimeError(f"demo file {event.filename} did not load: {run.status} {run.message}")
    outcome.files_loaded += 1
    outcome.runs[run.status] += 1


def _denials(action: Action) -> list[Denial]:
    found = Denial.objects.filter(claim_payment__patient_control_number=action.pcn, denied_on=action.denied_on,
                                  level=action.level)
    if action.procedure:
        found = found.filter(service_payment__procedure_code=action.procedure)
    return list(found.order_by("pk"))


def _work(action: Action, outcome: RcmOutcome) -> None:
    """Record one step of the billing team's denial work (skipped when it was recorded before)."""
    for denial in _denials(action):
        # Writing off a claim-level denial can close its line-level ones too: act on the current status.
        denial.refresh_from_db(fields=["status"])
        if action.kind == "appeal" and denial.status == DenialStatus.OPEN:
            denial_appeal(denial=denial, appealed_on=action.on, note=action.reason, refresh_aggregates=False)
            outcome.appeals += 1
        elif action.kind == "write_off" and denial.status in (DenialStatus.OPEN, DenialStatus.APPEALED):
            denial_write_off(denial=denial, written_off_on=action.on, reason=action.reason, refresh_aggregates=False)
            outcome.write_offs += 1


def _counts() -> dict[str, int]:
    return {
        "claims": Claim.objects.count(), "claim_lines": ClaimLine.objects.count(),
        "claim_payments": ClaimPayment.objects.count(), "denials": Denial.objects.count(),
        "ar_rows": ArBalance.objects.count(), "cost_rows": RcmCost.objects.count(),
        "files": ReceivedFile.objects.count(),
    }


def rcm_seed(*, organization: Organization, seed: int, year: int, scale_units: int = 0,
             progress: Callable[[str], None] | None = None) -> RcmOutcome:
    """Give a demo organization its feeds and billing history (see the module docstring)."""
    outcome = RcmOutcome()
    started = time.perf_counter()
    with tenant_context(organization), actor_context(Actor(label="seed_demo")):
        feeds = _feeds(organization)
        streams = [("core", 1.0, True)]
        if scale_units:
            # The benchmark batch: many more claims, the same behaviour; its denials are overturned
            # by later payments but not appealed or written off one by one.
            streams.append((f"bench-x{scale_units}", bench_volume(organization.slug, scale_units, year), False))
        inputs = None
        for stream, volume, actions in streams:
            state = _state(year, stream)
            if state != "load":
                outcome.notes.append(f"{stream}: {state}")
                continue
            inputs = inputs or _inputs(organization)
            history = History(inputs, seed=seed, year=year, stream=stream, volume=volume, actions=actions)
            month = None
            loaded, analyzed_at = outcome.files_loaded, 4
            for event in history.events():
                if isinstance(event, Action):
                    _work(event, outcome)
                    continue
                _load(event, feeds[event.feed], outcome)
                if outcome.files_loaded - loaded >= analyzed_at * 2:
                    analyzed_at = outcome.files_loaded - loaded
                    _analyze()
                if progress is not None and event.feed == "costs" and event.arrives != month:
                    month = event.arrives
                    progress(f"{organization.name} ({stream}): through {month:%Y-%m}, {outcome.files_loaded:,} files "
                             f"loaded, {time.perf_counter() - started:,.0f} s")
        if outcome.files_loaded or outcome.appeals or outcome.write_offs or not _has_aggregates(organization):
            _analyze(LOOKED_UP + AGGREGATED)
            aggregates_refresh()
        outcome.rows = _counts()
    outcome.seconds = time.perf_counter() - started
    return outcome


def _state(year: int, stream: str) -> str:
    """``load`` (nothing of the history yet, or part of it: resume), ``loaded whole before``, or a
    refusal when the organization holds another history in its place (another demo year or size)."""
    files = ReceivedFile.objects.all()
    if files.filter(filename=final_filename(year, stream)).exists():
        return "loaded whole before"
    kin = files.filter(filename__contains="_bench-x") if stream != "core" else files.exclude(
        filename__contains="_bench-x")
    if kin.exists() and not files.filter(filename__endswith=first_batch_ending(year, stream)).exists():
        return ("left alone: the organization holds a billing history of another demo year or size "
                "(--reset rebuilds it)")
    return "load"


def _has_aggregates(organization: Organization) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM rcm_feeds_kpi_monthly WHERE tenant_id = %s)", [organization.pk])
        return bool(cursor.fetchone()[0])

"""Shared helpers for the ingestion tests: feeds, loading a file through the real path, sums."""
from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db.models import Sum

from rcm_feeds.integrity import integrity_problems
from rcm_feeds.models import FileSource, IngestionRun
from rcm_feeds.services import feed_save, ingestion_execute, ingestion_submit
from revops.tenancy import tenant_context

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples" / "x12"


def sample(relative: str) -> Path:
    path = SAMPLES / relative
    assert path.is_file(), f"missing sample {path}"
    return path


def feed(kind: str, name: str | None = None, **kwargs: Any):
    """A feed of ``kind`` in the active organization (created once per name)."""
    from rcm_feeds.models import Feed

    name = name or f"{kind} feed"
    existing = Feed.objects.filter(name=name).first()
    return existing or feed_save(name=name, kind=kind, **kwargs)


def load(data: bytes | Path, kind: str, *, feed_name: str | None = None, filename: str | None = None,
         **feed_kwargs: Any) -> IngestionRun:
    """Receive ``data`` on a feed of ``kind`` and run its load as the task would (active tenant)."""
    if isinstance(data, Path):
        filename = filename or data.name
        data = data.read_bytes()
    the_feed = feed(kind, feed_name, **feed_kwargs)
    run = ingestion_submit(feed=the_feed, filename=filename or "upload.dat", stream=io.BytesIO(data),
                           source=FileSource.UPLOAD)
    if run.status == "queued":
        run = ingestion_execute(run=run)
    # Fact tables keep some links without a database constraint (rcm_feeds.integrity): every
    # load in the tests must leave none dangling.
    assert integrity_problems() == {}
    return run


def load_as(tenant: Any, data: bytes | Path, kind: str, **kwargs: Any) -> IngestionRun:
    with tenant_context(tenant.org):
        return load(data, kind, **kwargs)


def clear_rcm() -> None:
    """Remove the RCM rows the test world seeds (tests/rcm_feeds/kpi_fixtures.world_rows) from the
    active organization, so an ingestion test starts from an empty record."""
    from rcm_feeds import models as m

    for model in (m.Denial, m.Adjustment, m.ServicePayment, m.ProviderAdjustment, m.ClaimPayment, m.Remittance,
                  m.Acknowledgment, m.ClaimLine, m.Claim, m.ArBalance, m.RcmCost, m.QuarantineItem,
                  m.IngestionWarning, m.IngestionRun, m.ReceivedFile, m.Feed):
        model.objects.all().delete()


def total(queryset: Any, field: str) -> Decimal:
    return queryset.aggregate(s=Sum(field))["s"] or Decimal("0")


def money(value: str) -> Decimal:
    return Decimal(value)


# -- small X12 files written for a test ------------------------------------------------------------

def _interchange(sets: list[list[str]], *, functional_id: str, version: str, set_id: str, group: str = "1",
                 control: int = 1, date: str = "20240301", first_set: int = 1) -> bytes:
    out = ["ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240301*1200*^*00501*"
           f"{control:09d}*0*P*:",
           f"GS*{functional_id}*SENDER*RECEIVER*{date}*1200*{group}*X*{version}"]
    for n, body in enumerate(sets, start=first_set):
        st = f"{n:04d}"
        out.append(f"ST*{set_id}*{st}*{version}")
        out.extend(body)
        out.append(f"SE*{len(body) + 2}*{st}")
    out += [f"GE*{len(sets)}*{group}", f"IEA*1*{control:09d}"]
    return ("~\n".join(out) + "~\n").encode("ascii")


def svc(code: str, charge: str, paid: str, *cas: str, units: str = "1") -> list[str]:
    """An 835 service line: ``cas`` like "CO*45*10.00"."""
    return [f"SVC*HC:{code}*{charge}*{paid}**{units}", "DTM*472*20240201", *[f"CAS*{c}" for c in cas]]


def clp(pcn: str, status: str, charge: str, paid: str, *cas: str, payer_claim_number: str = "",
        member: str = "MBR001", lines: list[list[str]] | None = None, patient_responsibility: str = "") -> list[str]:
    """An 835 claim: CLP, claim-level CAS, patient, and its service lines."""
    segs = [f"CLP*{pcn}*{status}*{charge}*{paid}*{patient_responsibility}*12*{payer_claim_number}*11*1",
            *[f"CAS*{c}" for c in cas], f"NM1*QC*1*DOE*JANE****MI*{member}", "DTM*232*20240201",
            "DTM*233*20240201"]
    for line in lines or []:
        segs.extend(line)
    return segs


def remittance(claims: list[list[str]], *, trace: str, amount: str, date: str = "20240301",
               payer: tuple[str, str] = ("ACME HEALTH PLAN", "ACME01"), originator: str = "1999999999",
               plb: list[str] | None = None) -> list[str]:
    """One 835 transaction set body (BPR..PLB); ``amount`` is BPR02 as written."""
    body = [f"BPR*I*{amount}*C*ACH*CCP*01*111*DA*222*{originator}**01*333*DA*444*{date}",
            f"TRN*1*{trace}*{originator}", f"DTM*405*{date}", f"N1*PR*{payer[0]}*XV*{payer[1]}",
            "N1*PE*HARBOR BEHAVIORAL*XX*1234567893", "LX*1"]
    for claim in claims:
        body.extend(claim)
    body.extend(plb or [])
    return body


def x835(*sets: list[str], control: int = 1, date: str = "20240301") -> bytes:
    return _interchange(list(sets), functional_id="HP", version="005010X221A1", set_id="835", control=control,
                        date=date)


def clm(pcn: str, charge: str, *, code: str = "H0035", pos: str = "52", frequency: str = "1", f8: str = "",
        member: str = "MBR001", payer: tuple[str, str] = ("ACME HEALTH PLAN", "ACME01"), date: str = "20240201",
        lines: list[tuple[str, str]] | None = None, referring: str = "") -> list[str]:
    """An 837P subscriber loop with one claim (HL numbers are filled in by ``x837``); ``referring`` is
    the NPI of a 2310A referring provider (NM1*DN)."""
    segs = ["HL*{hl}*1*22*0", "SBR*P*18*******CI", f"NM1*IL*1*DOE*JANE****MI*{member}",
            f"NM1*PR*2*{payer[0]}*****PI*{payer[1]}",
            f"CLM*{pcn}*{charge}***{pos}:B:{frequency}*Y*A*Y*Y"]
    if f8:
        segs.append(f"REF*F8*{f8}")
    segs.append("HI*ABK:F329")
    if referring:
        segs.append(f"NM1*DN*1*REFERRER*PAT****XX*{referring}")
    for n, (line_code, line_charge) in enumerate(lines or [(code, charge)], start=1):
        segs += [f"LX*{n}", f"SV1*HC:{line_code}*{line_charge}*UN*1***1", f"DTP*472*D8*{date}"]
    return segs


def x837(*claims: list[str], group: str = "1", control: int = 1, first_set: int = 1, date: str = "20240201") -> bytes:
    body = [f"BHT*0019*00*BATCH1*{date}*1200*CH", "NM1*41*2*HARBOR BILLING*****46*S1",
            "NM1*40*2*CLEARINGHOUSE*****46*R1", "HL*1**20*1", "NM1*85*2*HARBOR BEHAVIORAL*****XX*1234567893"]
    for n, claim in enumerate(claims, start=2):
        body.extend(seg.replace("{hl}", str(n)) for seg in claim)
    return _interchange([body], functional_id="HC", version="005010X222A1", set_id="837", group=group,
                        control=control, date=date, first_set=first_set)

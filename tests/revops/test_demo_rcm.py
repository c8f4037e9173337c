"""The demo billing history generator (revops.demo.rcm.simulate): files the engine accepts, balanced, deterministic.

Pure Python: the organizations' reference data is built here from the demo catalog, no database.
The load of the same history through the ingestion path is tested in test_seed_demo.py.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import random
from collections import Counter

import pytest

from rcm_feeds import x12
from rcm_feeds.x12.ack import ClaimAck
from revops.demo import catalog, geo
from revops.demo.identifiers import npi_for_index
from revops.demo.rcm import BENCH_CLAIMS_PER_UNIT, bench_volume, profiles
from revops.demo.rcm.files import Party, PayerRef
from revops.demo.rcm.simulate import Action, Client, FileEvent, History, OrgInputs, ProgramSite, Site

YEAR = 2024
LAB_CODES = {"80053", "85025", "87491", "0240U", "81003"}


def inputs(slug: str) -> OrgInputs:
    """What rcm._inputs reads from the database, made up from the catalog the same way."""
    lab = slug == "meridian-dx"
    rng = random.Random(slug)
    specs = catalog.MERIDIAN_PAYERS if lab else catalog.RIVERBEND_PAYERS
    classes = profiles.MERIDIAN_X12_CLASSES if lab else profiles.RIVERBEND_X12_CLASSES
    payers = [(PayerRef(s.name, str(rng.randint(10000, 99999)), s.payer_class), float(s.share))
              for s in specs if s.payer_class in classes]
    sites = {}
    for i, spec in enumerate(catalog.MERIDIAN_FACILITIES if lab else catalog.RIVERBEND_FACILITIES):
        place = geo.place(spec.zip_code)
        party = Party(spec.name, npi_for_index(10**8 - 1 - i, offset=7), "1 Health Park Drive", place.city,
                      place.state, place.zip_code, "621847305")
        sites[spec.key] = Site(spec.key, party, place.state)
    main = sites["tpa" if lab else "nsh"].party
    org = OrgInputs(slug, Party("Demo", "DEMO01"), Party("Demo", main.identifier, tax_id="621847305"), payers, sites)
    if lab:
        kinds = catalog.MERIDIAN_ACCOUNT_KINDS
        for i in range(catalog.MERIDIAN_CORE_ACCOUNTS):
            kind = rng.choices(kinds, weights=[k.weight for k in kinds])[0]
            org.clients.append(Client(kind.specialty, rng.choice(("TX", "FL", "GA", "NC", "OK")),
                                      npi_for_index(i, offset=9), ("Lee", "Ana")))
    else:
        for program in catalog.RIVERBEND_PROGRAMS:
            org.programs.append(ProgramSite(program.code, sites[program.facility],
                                            profiles.RIVERBEND_BILLING[program.code], program.place_of_service))
    return org


@pytest.fixture(scope="module")
def histories() -> dict[str, list[FileEvent | Action]]:
    return {slug: list(History(inputs(slug), seed=42, year=YEAR).events()) for slug in ("riverbend-bh", "meridian-dx")}


def parsed(events: list[FileEvent | Action]) -> list[tuple[FileEvent, list[object]]]:
    return [(e, list(x12.parse(io.BytesIO(e.content)))) for e in events
            if isinstance(e, FileEvent) and e.filename.endswith((".edi", ".835"))]


def _sha(event: FileEvent) -> str:
    return hashlib.sha256(event.content).hexdigest()


@pytest.mark.parametrize("slug", ["riverbend-bh", "meridian-dx"])
def test_every_x12_file_parses_and_balances(histories, slug):
    files = parsed(histories[slug])
    warnings = Counter(w.code for _, records in files for r in records for w in getattr(r, "warnings", ()))
    assert warnings == Counter()  # no unbalanced claim, line or payment, no charge mismatch
    claims = [r for _, records in files for r in records if type(r) is x12.Claim]
    payments = [r for _, records in files for r in records if type(r) is x12.ClaimPayment]
    assert 2_500 < len(claims) < 6_000  # a few thousand claims over 18 months
    assert len(payments) > 0.85 * len(claims)
    for payment in payments:  # the engine's own check, once more, in cents
        cas = sum(a.amount for a in payment.adjustments) + sum(a.amount for s in payment.lines for a in s.adjustments)
        assert payment.charge - payment.paid == cas
    dates = [e.arrives for e in histories[slug] if isinstance(e, FileEvent)]
    assert min(dates) == dt.date(YEAR - 1, 7, 5) and max(dates) == dt.date(YEAR, 12, 31)
    assert len({_sha(e) for e in histories[slug] if isinstance(e, FileEvent)}) == len(dates)  # no two files alike


def test_riverbend_bills_residential_and_day_programs_on_837i_and_outpatient_on_837p(histories):
    kinds: dict[str, set[str]] = {}
    for event, records in parsed(histories["riverbend-bh"]):
        if event.feed.startswith("837:"):
            kinds.setdefault(event.feed[4:], set()).update(r.kind for r in records if type(r) is x12.ClaimBatch)
    institutional = {code for code, kind in kinds.items() if kind == {"I"}}
    assert institutional == {"NSH-PHP", "KNX-PHP", "DEC-PHP", "KNX-RES", "LOU-WM"}
    assert {code for code, kind in kinds.items() if kind == {"P"}} == {"NSH-IOP", "CHA-IOP", "DEC-IOP", "NSH-OP",
                                                                       "CHA-OP", "ASH-OP"}
    codes = Counter(line.code for _, records in parsed(histories["riverbend-bh"]) for r in records
                    if type(r) is x12.Claim for line in r.lines)
    assert {"H0035", "S9480", "H0019", "H0011", "90837", "90834", "99214"} <= set(codes)


def test_meridian_bills_lab_tests_from_its_two_laboratories(histories):
    files = parsed(histories["meridian-dx"])
    claims = [r for _, records in files for r in records if type(r) is x12.Claim]
    assert {c.facility_code for c in claims} == {"81"}  # independent laboratory
    assert LAB_CODES <= {line.code for c in claims for line in c.lines}
    assert len({c.billing_provider.npi for c in claims}) == 2
    assert 4.2 < sum(len(c.lines) for c in claims) / len(claims) < 5.8


@pytest.mark.parametrize("slug", ["riverbend-bh", "meridian-dx"])
def test_the_history_holds_what_a_billing_team_works(histories, slug):
    events = histories[slug]
    files = parsed(events)
    records = [r for _, rs in files for r in rs]
    claims = [r for r in records if type(r) is x12.Claim]
    payments = [r for r in records if type(r) is x12.ClaimPayment]
    acks = [r for r in records if type(r) is ClaimAck]
    corrected = [c for c in claims if c.frequency == "7"]
    assert corrected and all(c.original_claim_number for c in corrected)
    assert sum(1 for a in acks if a.rejected) > 0.02 * len(acks)  # 277CA front-end rejections
    reversals = [p for p in payments if p.status == "22"]
    assert reversals and all(p.paid <= 0 for p in reversals)
    assert any(p.status == "4" for p in payments)  # patient not recognised
    assert any(r.provider_adjustments for r in records if type(r) is x12.RemittanceEnd)  # PLB interest, recoupments
    denied = [p for p in payments if p.charge > 0 and p.paid == 0]
    assert 0.06 < len(denied) / len([p for p in payments if p.status != "22"]) < 0.2
    actions = [e for e in events if isinstance(e, Action)]
    assert {a.kind for a in actions} == {"appeal", "write_off"}
    assert all(a.on >= a.denied_on for a in actions)
    appealed = {(a.pcn, a.denied_on): a.on for a in actions if a.kind == "appeal"}
    for a in actions:
        if a.kind == "write_off" and (a.pcn, a.denied_on) in appealed:
            assert a.on > appealed[(a.pcn, a.denied_on)]
    late = [e for e, rs in files for r in rs if type(r) is x12.ClaimBatch and (e.arrives - r.created).days > 30]
    resent = [e for e in events if isinstance(e, FileEvent) and "resent" in e.filename]
    assert (len(late), len(resent)) == ((1, 0) if slug == "riverbend-bh" else (0, 1))


def test_ar_and_cost_files_read_as_the_feeds_map_them(histories):
    for slug, events in histories.items():
        ar = [e for e in events if isinstance(e, FileEvent) and e.feed == "ar"]
        costs = [e for e in events if isinstance(e, FileEvent) and e.feed == "costs"]
        assert len(ar) == len(costs) == 18
        plan = {p.key: p for p in profiles.feeds_for(slug, {p.code: p.name for p in catalog.RIVERBEND_PROGRAMS})}
        for event, mapping in ((ar[-1], plan["ar"].column_mapping), (costs[-1], plan["costs"].column_mapping)):
            rows = list(csv.DictReader(io.StringIO(event.content.decode())))
            assert rows and set(mapping.values()) == set(rows[0])
        rows = list(csv.DictReader(io.StringIO(ar[-1].content.decode())))
        assert {r["Snapshot Date"] for r in rows} == {"12/31/2024"}
        assert any(r["Payer Name"] == "Self-pay" for r in rows)  # patient balances after insurance paid


def test_same_seed_and_year_give_the_same_files_and_another_seed_others(histories):
    again = [_sha(e) for e in History(inputs("meridian-dx"), seed=42, year=YEAR).events() if isinstance(e, FileEvent)]
    assert again == [_sha(e) for e in histories["meridian-dx"] if isinstance(e, FileEvent)]
    other = {_sha(e) for e in History(inputs("meridian-dx"), seed=7, year=YEAR).events() if isinstance(e, FileEvent)}
    assert not other & set(again)


def test_a_benchmark_unit_is_about_ten_thousand_claims_of_five_lines():
    volume = bench_volume("meridian-dx", 1, YEAR)
    history = History(inputs("meridian-dx"), seed=42, year=YEAR, stream="bench-x1", volume=volume, actions=False)
    originals = lines = 0
    for event in history.events():
        assert isinstance(event, FileEvent)  # the benchmark batch records no denial work one by one
        assert event.filename.endswith(("_bench-x1.edi", "_bench-x1.835", "_bench-x1.csv"))
        if event.feed == "837":
            text = event.content.decode()
            originals += text.count(":B:1*")
            lines += text.count("\nLX*")
    assert abs(originals - BENCH_CLAIMS_PER_UNIT["meridian-dx"]) < 0.1 * BENCH_CLAIMS_PER_UNIT["meridian-dx"]
    assert 4.6 < lines / originals < 5.6

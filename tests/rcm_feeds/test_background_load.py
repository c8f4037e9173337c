"""835/837 loads that write full batches in the background (revops.background_flush) store exactly
what the one-thread load stores: same rows, links, denial lifecycle, counts and warnings."""
from __future__ import annotations

import io

import pytest
from django.db import connection

from rcm_feeds.services import claims, ingest_x12, remittances
from rcm_feeds.x12 import synth
from revops.background_flush import BackgroundFlush
from revops.tenancy import tenant_context

from .ingestutil import clear_rcm, load

CLAIMS = 300
BATCH = 40  # 8 batches: 7 written in the background, the last one at the end


def _files(seed: int) -> tuple[bytes, bytes]:
    out837, out835 = io.BytesIO(), io.BytesIO()
    synth.write_837(out837, CLAIMS, kind="P", seed=seed)
    synth.write_835(out835, CLAIMS, seed=seed)
    return out837.getvalue(), out835.getvalue()


SNAPSHOT = {
    "claims": """SELECT c.source_position, c.patient_control_number, c.charge, c.frequency, c.is_resubmission,
                        o.source_position, c.service_from, c.submitted_on
                 FROM rcm_feeds_claim c LEFT JOIN rcm_feeds_claim o ON o.id = c.original_claim_id
                 ORDER BY 1""",
    "lines": """SELECT c.source_position, l.line_number, l.procedure_code, l.charge, l.units, l.service_date
                FROM rcm_feeds_claimline l JOIN rcm_feeds_claim c ON c.id = l.claim_id ORDER BY 1, 2""",
    "payments": """SELECT p.source_position, c.source_position, p.status_code, p.charge, p.paid,
                          p.contractual_adjustment, p.is_denied, p.is_reversal, p.balanced, r.source_position
                   FROM rcm_feeds_claimpayment p LEFT JOIN rcm_feeds_claim c ON c.id = p.claim_id
                   LEFT JOIN rcm_feeds_claimpayment r ON r.id = p.reversed_by_id ORDER BY 1""",
    "service payments": """SELECT p.source_position, s.source_position, s.procedure_code, s.charge, s.paid,
                                  s.is_denied, s.remark_codes
                           FROM rcm_feeds_servicepayment s JOIN rcm_feeds_claimpayment p ON p.id = s.claim_payment_id
                           ORDER BY 1, 2""",
    "adjustments": """SELECT p.source_position, s.source_position, a.group_code, a.reason_code, a.amount, a.quantity
                      FROM rcm_feeds_adjustment a JOIN rcm_feeds_claimpayment p ON p.id = a.claim_payment_id
                      LEFT JOIN rcm_feeds_servicepayment s ON s.id = a.service_payment_id
                      ORDER BY 1, 2 NULLS FIRST, 3, 4, 5""",
    "denials": """SELECT p.source_position, s.source_position, c.source_position, d.level, d.category, d.carc_codes,
                         d.rarc_codes, d.denied_charge, d.status, o.source_position
                  FROM rcm_feeds_denial d JOIN rcm_feeds_claimpayment p ON p.id = d.claim_payment_id
                  LEFT JOIN rcm_feeds_servicepayment s ON s.id = d.service_payment_id
                  LEFT JOIN rcm_feeds_claim c ON c.id = d.claim_id
                  LEFT JOIN rcm_feeds_claimpayment o ON o.id = d.overturned_by_id
                  ORDER BY 1, 2 NULLS FIRST""",
    "warnings": """SELECT w.code, w.segment_number, w.claim_reference, w.message FROM rcm_feeds_ingestionwarning w
                   ORDER BY 2 NULLS FIRST, 1, 3, 4""",
}


def _snapshot() -> dict[str, list[tuple]]:
    out = {}
    with connection.cursor() as cursor:
        for name, query in SNAPSHOT.items():
            cursor.execute(query)
            out[name] = sorted(cursor.fetchall(), key=repr)  # two files share segment numbers
    return out


def _load_both(background: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[list[dict], dict[str, list[tuple]]]:
    monkeypatch.setattr(ingest_x12, "BACKGROUND_FLUSH", background)
    clear_rcm()
    runs = []
    for seed in (11, 12):  # the second 837 resubmits nothing new; its 835 pays only its own claims
        data837, data835 = _files(seed)
        for data, kind in ((data837, "x12_837"), (data835, "x12_835")):
            run = load(data, kind, filename=f"{kind}-{seed}.x12")
            assert run.status in ("loaded", "loaded_with_warnings"), run.message
            runs.append(run.counts)
    # The same 835 again under another name: the file is recognised, nothing is loaded twice.
    run = load(_files(11)[1], "x12_835", filename="again.x12")
    runs.append(run.counts)
    return runs, _snapshot()


def test_background_batches_store_what_the_one_thread_load_stores(world, monkeypatch):
    monkeypatch.setattr(claims, "BATCH", BATCH)
    monkeypatch.setattr(remittances, "BATCH", BATCH)
    submitted = []
    real_submit = BackgroundFlush.submit
    monkeypatch.setattr(BackgroundFlush, "submit",
                        lambda self, fn, *args: submitted.append(fn.__qualname__) or real_submit(self, fn, *args))
    with tenant_context(world.a.org):
        counts_bg, rows_bg = _load_both(True, monkeypatch)
    with tenant_context(world.b.org):
        counts_one, rows_one = _load_both(False, monkeypatch)
    assert [{k: v for k, v in c.items() if k != "duplicate_of_run"} for c in counts_bg] == \
        [{k: v for k, v in c.items() if k != "duplicate_of_run"} for c in counts_one]
    for name in SNAPSHOT:
        assert rows_bg[name] == rows_one[name], name
    # The fixture exercises what a batch boundary could break.
    assert counts_bg[1]["claim_payments"] == CLAIMS and counts_bg[1]["denials"] > 0
    assert counts_bg[1]["reversals"] > 0 and "duplicate_of_run" in counts_bg[-1]
    assert len(rows_bg["claims"]) == 2 * CLAIMS and rows_bg["warnings"]
    # 300 claims in batches of 40: 7 full batches per file went to the background, in tenant a only.
    assert submitted == ["ClaimWriter._write"] * 7 + ["RemittanceWriter._write"] * 7 + \
        ["ClaimWriter._write"] * 7 + ["RemittanceWriter._write"] * 7


def test_a_file_refused_inside_a_background_batch_is_quarantined_whole(world, monkeypatch):
    """A CAS reason code too long for its column, in the third batch, while earlier batches are written in
    the background: the run is quarantined with that reason, and nothing of the file stays."""
    monkeypatch.setattr(remittances, "BATCH", BATCH)
    with tenant_context(world.a.org):
        clear_rcm()
        data837, data835 = _files(21)
        load(data837, "x12_837", filename="claims.x12")
        text = data835.decode()
        clps = [i for i in range(len(text)) if text.startswith("\nCLP*", i)]
        cas = text.index("\nCAS*CO*", clps[2 * BATCH + 5])  # inside the third batch
        bad = text[:cas] + "\nCAS*CO*4545454*" + text[cas + len("\nCAS*CO*"):].split("*", 1)[1]
        run = load(bad.encode(), "x12_835", filename="bad.x12")
        assert run.status == "quarantined"
        assert "CAS reason code '4545454' is longer than 5 characters" in run.message
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM rcm_feeds_claimpayment")
            assert cursor.fetchone()[0] == 0

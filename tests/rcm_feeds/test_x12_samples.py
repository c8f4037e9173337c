"""Every public sample file has a known outcome: parsed with its claim count, or refused and why."""
from __future__ import annotations

from pathlib import Path

import pytest

from rcm_feeds.x12 import Claim, ClaimAck, ClaimPayment, GroupAck, X12Error

from .x12util import SAMPLES, records, sample_files

# path -> ("ok", claims or acks, warnings) or ("refused", error code, segment number)
OUTCOMES: dict[str, tuple[str, int | str, int]] = {
    "edi-835-parser/blue_cross_nc_sample.txt": ("refused", "missing_isa", 1),
    "edi-835-parser/emedny_sample.txt": ("ok", 3, 0),
    "edi-835-parser/united_healthcare_legacy_sample.txt": ("ok", 2, 0),
    "imsweb/x12_277CA_accepted.txt": ("ok", 1, 0),
    "imsweb/x12_277CA_rejected.txt": ("ok", 1, 0),
    "imsweb/x12_999_accepted.txt": ("refused", "control_number", 10),
    "imsweb/x12_999_rejected.txt": ("ok", 1, 0),
    "imsweb/x12_many_claims.txt": ("refused", "hierarchy", 27),
    "imsweb/x12_valid.txt": ("refused", "hierarchy", 27),
    "imsweb/x223-test.txt": ("refused", "line_break_in_segment", 32),
    "linuxforhealth/835_005010X221A1/cob-contractural-adjustment.835": ("ok", 1, 1),
    "linuxforhealth/835_005010X221A1/managed-care.835": ("ok", 2, 1),
    "linuxforhealth/835_005010X221A1/medicare-part-a.835": ("ok", 2, 0),
    "linuxforhealth/835_005010X221A1/secondary-payment.835": ("ok", 2, 2),
    "linuxforhealth/835_005010X221A1/tertiary-payment.835": ("refused", "composite_missing", 20),
    "linuxforhealth/837_005010X222A2/demo.ambulance.example5.837": ("ok", 1, 0),
    "linuxforhealth/837_005010X222A2/demo.autoaccident.837": ("ok", 1, 0),
    "linuxforhealth/837_005010X222A2/demo.cob.2ndary.example4.837": ("ok", 1, 3),
    "linuxforhealth/837_005010X222A2/demo.cob.example3.A.837": ("ok", 1, 0),
    "linuxforhealth/837_005010X222A2/demo.cob.example3.B.837": ("ok", 1, 0),
    "linuxforhealth/837_005010X222A2/demo.cob.example3.C.837": ("ok", 1, 0),
    "linuxforhealth/837_005010X222A2/demo.cob.example4.837": ("ok", 1, 0),
    "linuxforhealth/837_005010X222A2/demo.drug.example10.1.837": ("ok", 1, 0),
    "linuxforhealth/837_005010X222A2/demo.drug.example10.2.837": ("ok", 1, 0),
    "linuxforhealth/837_005010X222A2/demo.drug.example10.3.837": ("ok", 1, 0),
    "linuxforhealth/837_005010X222A2/demo.example1.837": ("ok", 1, 0),
    "linuxforhealth/837_005010X222A2/demo.example11.837": ("ok", 1, 5),
    "linuxforhealth/837_005010X222A2/demo.example12.837": ("ok", 1, 3),
    "linuxforhealth/837_005010X222A2/demo.example2.837": ("ok", 1, 0),
    "linuxforhealth/837_005010X222A2/demo.example6.837": ("ok", 1, 3),
    "linuxforhealth/837_005010X222A2/demo.example7.837": ("ok", 1, 0),
    "linuxforhealth/837_005010X222A2/demo.example8.837": ("ok", 1, 0),
    "linuxforhealth/837_005010X222A2/demo.example9.837": ("ok", 1, 3),
    "linuxforhealth/837_005010X223A3/institutional-claim.837i": ("ok", 1, 0),
    "linuxforhealth/837_005010X223A3/out-of-network-repriced-claim.837i": ("ok", 1, 3),
    "linuxforhealth/837_005010X223A3/ppo-repriced-claim.837i": ("ok", 1, 6),
    "linuxforhealth/837_005010X223A3/two-claims-single-provider.837i": ("ok", 2, 0),
}


def test_every_sample_has_an_outcome() -> None:
    assert sorted(str(p.relative_to(SAMPLES)) for p in sample_files()) == sorted(OUTCOMES)


@pytest.mark.parametrize("relative", sorted(OUTCOMES))
def test_sample_outcome(relative: str) -> None:
    kind, expected, detail = OUTCOMES[relative]
    data = (SAMPLES / Path(relative)).read_bytes()
    if kind == "refused":
        with pytest.raises(X12Error) as info:
            records(data)
        assert (info.value.code, info.value.segment) == (expected, detail)
        return
    out = records(data)
    items = [r for r in out if isinstance(r, (ClaimPayment, Claim, ClaimAck, GroupAck))]
    assert len(items) == expected
    warnings = [w for r in out for w in getattr(r, "warnings", [])]
    assert len(warnings) == detail

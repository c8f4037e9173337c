"""Deterministic account rows on real ZIP codes, shaped for ``revops.bulk.copy_insert``."""
from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from itertools import accumulate
from string import Formatter

from revops.demo.catalog import AccountKind
from revops.demo.geo import Place
from revops.demo.identifiers import npi_for_index
from revops.demo.names import FIRST_NAMES, LAST_NAMES, SAINTS

ACCOUNT_COLUMNS: tuple[str, ...] = (
    "external_id", "name", "npi", "specialty", "account_type", "service_line_id",
    "city", "zip_code", "county", "state", "latitude", "longitude", "is_active",
)
# The partial unique index on (tenant, external_id): re-loading the same ids inserts nothing.
ACCOUNT_CONFLICT = "(tenant_id, external_id) WHERE external_id <> ''"

INACTIVE_SHARE = 0.03


def _county_stem(county: str) -> str:
    for suffix in (" County", " Parish", " Borough", " Census Area", " Municipality"):
        if county.endswith(suffix):
            return county[: -len(suffix)]
    return county


def account_rows(
    rng: random.Random,
    *,
    kinds: Sequence[AccountKind],
    places: Sequence[Place],
    start: int,
    count: int,
    id_prefix: str,
    npi_offset: int,
    service_lines: dict[str, int],
    payer_names: Sequence[str] = (),
) -> Iterator[tuple[object, ...]]:
    """``count`` accounts numbered from ``start``: a kind by weight, a random place, a name.

    External ids and NPIs come from the account number, so they are unique in the
    organization however the rows are chunked.
    """
    cumulative = list(accumulate(k.weight for k in kinds))
    # (kind, pattern, the name parts the pattern uses), so each row draws only what it needs.
    patterns = [[(p, {f for _, f, _, _ in Formatter().parse(p) if f}) for p in k.patterns] for k in kinds]
    choices, choice, uniform = rng.choices, rng.choice, rng.random
    indexes = range(len(kinds))
    account_types = [str(k.account_type) for k in kinds]  # plain str: no enum adaptation per row
    for number in range(start, start + count):
        k = choices(indexes, cum_weights=cumulative)[0]
        kind = kinds[k]
        where = choice(places)
        pattern, used = choice(patterns[k])
        parts = {"city": where.city}
        if "county" in used:
            parts["county"] = _county_stem(where.county)
        for name, pool in (("first", FIRST_NAMES), ("last", LAST_NAMES), ("last2", LAST_NAMES), ("saint", SAINTS),
                           ("payer", payer_names)):
            if name in used:
                parts[name] = choice(pool)
        yield (
            f"{id_prefix}{number:07d}",
            pattern.format_map(parts),
            npi_for_index(number, offset=npi_offset) if kind.has_npi else "",
            kind.specialty,
            account_types[k],
            service_lines[kind.service_line] if kind.service_line else None,
            where.city,
            where.zip_code,
            where.county,
            where.state,
            where.latitude,
            where.longitude,
            uniform() >= INACTIVE_SHARE,
        )

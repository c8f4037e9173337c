"""Real US geography from the ``zipcodes`` package (its data ships with it; no network)."""
from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import zipcodes

# The fifty states and DC: where demo accounts may sit (territories and military ZIPs excluded).
STATES: tuple[str, ...] = (
    "AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "HI", "IA", "ID", "IL", "IN",
    "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT", "NC", "ND", "NE", "NH", "NJ",
    "NM", "NV", "NY", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VA", "VT", "WA",
    "WI", "WV", "WY",
)


class Place(NamedTuple):
    zip_code: str
    city: str
    county: str
    state: str
    # Text with six decimals, as the numeric(9, 6) columns store it (and cheap to COPY).
    latitude: str
    longitude: str


def _six_places(value: str) -> str:
    """'36.1504' -> '36.150400' (the package's points have at most four decimals)."""
    whole, _, fraction = value.partition(".")
    if len(fraction) > 6:
        raise ValueError(f"unexpected precision in {value!r}")
    return f"{whole}.{fraction.ljust(6, '0')}"


@lru_cache(maxsize=1)
def places() -> tuple[Place, ...]:
    """Active standard (street-delivery) ZIPs of the fifty states and DC with a county and a point, by ZIP."""
    wanted = set(STATES)
    out = [
        Place(
            zip_code=z["zip_code"], city=z["city"], county=z["county"], state=z["state"],
            latitude=_six_places(z["lat"]), longitude=_six_places(z["long"]),
        )
        for z in zipcodes.list_all()
        if z["active"] and z["zip_code_type"] == "STANDARD" and z["state"] in wanted
        and z["county"] and z["lat"] and z["long"]
    ]
    out.sort(key=lambda p: p.zip_code)
    return tuple(out)


@lru_cache(maxsize=1)
def _by_zip() -> dict[str, Place]:
    return {p.zip_code: p for p in places()}


def place(zip_code: str) -> Place:
    """The place of a ZIP code; KeyError if it is not an active standard ZIP of a state or DC."""
    return _by_zip()[zip_code]


@lru_cache(maxsize=64)
def places_in(states: tuple[str, ...]) -> tuple[Place, ...]:
    wanted = set(states)
    return tuple(p for p in places() if p.state in wanted)


def miles_between(a: Place, b: Place) -> float:
    """Great-circle distance (haversine, Earth radius 3,958.8 miles)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (float(a.latitude), float(a.longitude),
                                                 float(b.latitude), float(b.longitude)))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 3958.8 * math.asin(math.sqrt(h))


@lru_cache(maxsize=64)
def places_near(zip_code: str, miles: float) -> tuple[Place, ...]:
    """Places within ``miles`` of a ZIP code (the ZIP itself included), by ZIP."""
    centre = place(zip_code)
    return tuple(p for p in places() if miles_between(centre, p) <= miles)

"""Input checks for identifiers the API accepts: NPIs, US ZIP codes and states, CMS codes."""
from __future__ import annotations

import re

import zipcodes
from rest_framework import serializers

# USPS codes of the states, DC and the inhabited territories.
US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND "
    "OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR VI GU AS MP".split()
)


def npi_is_valid(npi: str) -> bool:
    """CMS NPI check digit: Luhn over the 9 digits prefixed with the card issuer code 80840."""
    if not re.fullmatch(r"\d{10}", npi):
        return False
    digits = [int(d) for d in "80840" + npi[:9]]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(npi[9])


def validate_npi(value: str) -> str:
    if value and not npi_is_valid(value):
        raise serializers.ValidationError("Not a valid NPI (10 digits with a correct check digit).")
    return value


def validate_state(value: str) -> str:
    value = (value or "").strip().upper()
    if value and value not in US_STATES:
        raise serializers.ValidationError(f"{value!r} is not a US state or territory code.")
    return value


def validate_zip_code(value: str) -> str:
    value = (value or "").strip()
    if value and not re.fullmatch(r"\d{5}", value):
        raise serializers.ValidationError("A ZIP code is 5 digits.")
    if value and not zipcodes.is_real(value):
        raise serializers.ValidationError(f"{value} is not a US ZIP code.")
    return value


def zip_state(zip_code: str) -> str | None:
    """The state a ZIP code lies in (None if unknown)."""
    matches = zipcodes.matching(zip_code) if zip_code else []
    return matches[0]["state"] if matches else None


def check_zip_in_state(zip_code: str | None, state: str | None) -> None:
    """Raise when a ZIP code and a state are both given and disagree."""
    if not zip_code or not state:
        return
    actual = zip_state(zip_code)
    if actual is not None and actual != state:
        raise serializers.ValidationError({"zip_code": f"ZIP code {zip_code} is in {actual}, not {state}."})


def validate_place_of_service(value: str) -> str:
    if value and not re.fullmatch(r"\d{2}", value):
        raise serializers.ValidationError("A CMS place-of-service code is 2 digits, e.g. 52.")
    return value

"""National Provider Identifiers with a valid check digit (Luhn over the 80840 card-issuer prefix)."""
from __future__ import annotations

# CMS: the NPI check digit is the Luhn check digit of the 9-digit base prefixed with 80840,
# the ISO card-issuer prefix for US health applications.
NPI_PREFIX = "80840"

# Multiplier of the bijection index -> base over [0, 10**8): odd and not a multiple of 5,
# so coprime with 10**8 and every index below 10**8 gets its own base.
_STRIDE = 48_271_013


# Luhn doubling of a digit (2d, minus 9 when that has two digits).
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
# The prefix 80840 sits at odd and even places left of the base: it always adds 24.
_PREFIX_SUM = 24


def npi_check_digit(base: str) -> str:
    """The check digit CMS appends to a 9-digit NPI base."""
    if len(base) != 9 or not base.isdigit():
        raise ValueError(f"an NPI base has 9 digits, not {base!r}")
    total = _PREFIX_SUM
    for position, char in enumerate(base):
        digit = ord(char) - 48
        # The check digit is appended on the right, so the base's rightmost digit (position 8)
        # and every second one leftwards are doubled.
        total += _DOUBLED[digit] if position % 2 == 0 else digit
    return str((10 - total % 10) % 10)


def npi_is_valid(npi: str) -> bool:
    """Ten digits, starting with 1 or 2, whose last digit is the Luhn check of 80840 + the first nine."""
    if len(npi) != 10 or not npi.isdigit() or npi[0] not in "12":
        return False
    return npi_check_digit(npi[:9]) == npi[9]


def npi_for_index(index: int, *, offset: int = 0) -> str:
    """A valid NPI, distinct for every ``index`` below 10**8 at a given ``offset``.

    Deterministic and collision-free without bookkeeping: index -> base is a bijection of
    [0, 10**8) (stride coprime with 10**8), and the base gets the leading 1 real NPIs use.
    """
    if not 0 <= index < 10**8:
        raise ValueError("index out of range")
    base = "1" + f"{(index * _STRIDE + offset) % 10**8:08d}"
    return base + npi_check_digit(base)

"""revops_ui template filters: number formatting for tables that carry figures as strings."""
from __future__ import annotations

from decimal import Decimal

from revops.templatetags.revops_ui import num


def test_num_groups_thousands_and_keeps_the_decimal_places_it_came_with():
    assert num("2233150.13") == "2,233,150.13"
    assert num("-119425.31") == "-119,425.31"
    assert num("2137") == "2,137"
    assert num(-23) == "-23"
    assert num(Decimal("100.00")) == "100.00"
    assert num("-3.12") == "-3.12"


def test_num_leaves_what_is_not_a_number_alone():
    assert num(None) is None
    assert num("") == ""
    assert num("n/a") == "n/a"
    assert num("NaN") == "NaN"

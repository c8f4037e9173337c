"""rcm_feeds.services.context helpers."""
from __future__ import annotations

from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rcm_feeds.services.context import pg_int_array, pg_text_array

TRICKY = ["PCN1", 'quo"te', "back\\slash", "com,ma", "{brace}", "sp ace", "", "NULL", "ünï", "'single'"]


def _round_trip(values: list[str]) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(array_agg(v ORDER BY n), '{}') FROM unnest(%s::text[]) "
                       "WITH ORDINALITY AS u(v, n)", [pg_text_array(values)])
        return cursor.fetchone()[0]


def test_a_text_array_literal_carries_any_text_unchanged(db):
    assert _round_trip(TRICKY) == TRICKY
    assert _round_trip([]) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                        max_size=12), max_size=8))
def test_a_text_array_literal_round_trips_arbitrary_text(db, values):
    assert _round_trip(values) == values


def test_a_bigint_array_literal_keeps_order_and_nulls(db):
    values = [3, None, 9_007_199_254_740_993, -1, 0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::bigint[]", [pg_int_array(values)])
        assert cursor.fetchone()[0] == values
        cursor.execute("SELECT %s::bigint[]", [pg_int_array([])])
        assert cursor.fetchone()[0] == []

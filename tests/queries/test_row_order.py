"""server/row_order.py: the byte keys order rows as Oxigraph's ORDER BY does.

Each case is run twice on a real in-memory pyoxigraph store: once ordered by Oxigraph,
once unordered and sorted by :class:`RowOrder` keys; the two orders must be equal.
"""

from __future__ import annotations

import pytest
from pyoxigraph import Store

from patternkg.server.precompute import CellEncoder
from patternkg.server.row_order import RowOrder, term_key, unordered

# Values chosen so that every rule of the order decides at least one pair: unbound,
# blank node, IRIs (one a prefix of another), numbers of several datatypes (negative,
# zero, fractions, exponent), plain and language-tagged strings (one a prefix of
# another, non-ASCII, a control character), booleans, a date. Oxigraph compares a number
# with a string by lexical form (not transitive: see row_order's docstring), so every
# string here sorts after the numbers' lexical forms, as strings of a real column would.
VALUES = """
  (1 <http://example.org/a>) (2 <http://example.org/ab>) (3 <http://example.org/>)
  (4 -3) (5 0) (6 2.5) (7 "1e3"^^<http://www.w3.org/2001/XMLSchema#double>) (8 -0.25)
  (9 "10"^^<http://www.w3.org/2001/XMLSchema#int>) (10 "ab") (11 "a") (12 "a"@en) (13 "a"@de)
  (14 "é") (15 "z") (16 "Zeta") (17 true) (18 false)
  (19 "2020-01-01"^^<http://www.w3.org/2001/XMLSchema#date>) (20 UNDEF) (21 "Ab") (22 "a\\tb")
"""
CASES = [
    "ORDER BY ?v ?n",
    "ORDER BY DESC(?v) ?n",
    "ORDER BY (!BOUND(?v)) ?v ?n",
    "ORDER BY (!BOUND(?v)) DESC(?v) DESC(?n)",
]


def _rows(store: Store, sparql: str, columns: list[str]) -> list[list]:
    return [[CellEncoder.expanded(s[c]) for c in columns] for s in store.query(sparql)]


@pytest.mark.parametrize("order", CASES)
def test_keys_sort_rows_as_oxigraph_orders_them(order: str) -> None:
    store = Store()
    # a blank node comes from the store, so that it is a term Oxigraph orders, not a VALUES error
    store.update("INSERT DATA { _:b <http://example.org/p> 0 }")
    sparql = f"""SELECT ?n ?v WHERE {{
      {{ VALUES (?n ?v) {{ {VALUES} }} }} UNION {{ ?v <http://example.org/p> ?z BIND(0 AS ?n) }}
    }} {order}"""
    columns = ["n", "v"]
    expected = _rows(store, sparql, columns)
    keys = RowOrder(sparql, columns, skip=[])
    got = sorted(_rows(store, unordered(sparql), columns), key=keys.key)
    assert got == expected


def test_an_order_by_a_column_not_stored_is_refused() -> None:
    with pytest.raises(ValueError, match=r"bulk\.rq: ORDER BY \?other is not a stored column"):
        RowOrder("SELECT ?a WHERE {} ORDER BY ?a ?other", ["a"], skip=[], source="bulk.rq")


def test_key_variables_are_left_out_of_the_order() -> None:
    order = RowOrder("SELECT ?k ?a WHERE {} ORDER BY ?k DESC(?a)", ["k", "a"], skip=["k"])
    assert order.key([["z"], ["1"]]) == order.key([["a"], ["1"]])
    assert term_key(None) < term_key({"b": "x"}) < term_key("http://a") < term_key(["1", "@en"])

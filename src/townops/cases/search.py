"""The index of the case text search, on both databases (工单检索索引).

``cases.search_terms`` holds the bigrams of content and address
(:mod:`townops.cases.bigrams`, kept in step by the ORM events in
:mod:`townops.cases.models`). Each database indexes them its own way:

* PostgreSQL: a stored generated column ``search_vector``,
  ``array_to_tsvector(string_to_array(search_terms, ' '))``, with a GIN index: the bigrams
  become lexemes verbatim, with no parser or dictionary between them and the query
  (``to_tsvector`` would run the text parser over them). Stored, not an expression index:
  for a bigram in one case of five, the planner reads the table rather than the index and
  checks each row, and with an expression index it rebuilt every row's vector from its
  terms to do so (28 s at 1,000,000 cases against 6 s for LIKE);
* SQLite: the FTS5 table ``cases_search``, external content (it stores no text of its
  own, only the index; ``detail=none``: rowids, no positions), kept in step with
  ``cases`` by three triggers, so every writer, the ORM's or a bulk ``INSERT``, updates it.

A query of two or more letters or digits in a run becomes the AND of its bigrams: the
candidates. The exact ``LIKE`` is applied to them in the same statement, so results and
their order are what ``LIKE`` alone gives (:func:`candidates` returns None when the
index cannot narrow a query, and the search then reads every row; it says when the
candidates are already exact — two Chinese characters — and the ``LIKE`` is left out).

Migration 0011 creates these objects with the DDL below. A later migration that rebuilds
``cases`` on SQLite (Alembic's batch mode copies the table and drops the old one) drops
the triggers with it: it must run :data:`SQLITE_TRIGGERS` again
(tests/cases/test_case_search_index.py fails otherwise).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, String, cast, literal, literal_column, select, table, text
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR

from townops.cases.bigrams import query_terms
from townops.cases.models import Case

#: The FTS5 table (SQLite), the vector column and its GIN index (PostgreSQL). Not in the
#: ORM metadata: the schema comparison of tests/test_migrations.py and Alembic's
#: autogenerate skip them.
FTS_TABLE = "cases_search"
PG_INDEX = "ix_cases_search_terms"
PG_COLUMN = "search_vector"
#: FTS5 keeps its index in shadow tables named after the table.
SEARCH_INDEX_TABLES = frozenset(
    {FTS_TABLE, *(f"{FTS_TABLE}_{s}" for s in ("data", "idx", "config", "docsize", "content"))}
)

_PG_VECTOR = "array_to_tsvector(string_to_array(search_terms, ' '))"

POSTGRES_CREATE = (
    f"ALTER TABLE cases ADD COLUMN IF NOT EXISTS {PG_COLUMN} tsvector "
    f"GENERATED ALWAYS AS ({_PG_VECTOR}) STORED",
    f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON cases USING gin ({PG_COLUMN})",
)
POSTGRES_DROP = (
    f"DROP INDEX IF EXISTS {PG_INDEX}",
    f"ALTER TABLE cases DROP COLUMN IF EXISTS {PG_COLUMN}",
)

SQLITE_TABLE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(search_terms, "
    "content='cases', content_rowid='id', detail=none, columnsize=0, "
    "tokenize='unicode61 remove_diacritics 0')"
)
#: Fills the FTS table from ``cases.search_terms`` (after a bulk load or a backfill).
SQLITE_REBUILD = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')"
# An external-content FTS5 index forgets a row only when told its old terms ('delete').
_DELETE_OLD = (
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_terms) "
    "VALUES ('delete', old.id, old.search_terms);"
)
_INSERT_NEW = f"INSERT INTO {FTS_TABLE}(rowid, search_terms) VALUES (new.id, new.search_terms);"
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ai AFTER INSERT ON cases BEGIN {_INSERT_NEW} END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ad AFTER DELETE ON cases BEGIN {_DELETE_OLD} END",
    # Only when the terms change: a state change leaves the index alone.
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_au AFTER UPDATE OF search_terms ON cases "
    f"WHEN old.search_terms IS NOT new.search_terms BEGIN {_DELETE_OLD} {_INSERT_NEW} END",
)
SQLITE_TRIGGER_NAMES = (f"{FTS_TABLE}_ai", f"{FTS_TABLE}_ad", f"{FTS_TABLE}_au")
SQLITE_DROP = (
    *(f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGER_NAMES),
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
)


def _postgres_match(terms: list[str]) -> ColumnElement[bool]:
    vector = literal_column(f"cases.{PG_COLUMN}", TSVECTOR)
    # tsquery's input takes quoted lexemes verbatim; bigrams hold no quote or backslash.
    query = " & ".join(f"'{term}'" for term in terms)
    return vector.op("@@")(cast(literal(query, String), TSQUERY))


def _sqlite_match(terms: list[str]) -> ColumnElement[bool]:
    # Each bigram a quoted FTS5 string; strings side by side are ANDed.
    query = " ".join(f'"{term}"' for term in terms)
    fts = table(FTS_TABLE)
    rowids = select(text("rowid")).select_from(fts).where(text(f"{FTS_TABLE} MATCH :terms"))
    return Case.id.in_(rowids.params(terms=query))


def _caseless(ch: str) -> bool:
    return ch.lower() == ch == ch.upper()


def candidates(needle: str, dialect: str) -> tuple[ColumnElement[bool], bool] | None:
    """The cases holding every bigram of ``needle`` (a superset of those whose text holds
    it) and whether they are exactly those, or None when the index cannot narrow the
    search.

    Exact: ``needle`` is one bigram of characters without case (two Chinese characters,
    digits), so a text holds the bigram only where it holds ``needle`` itself and the
    ``LIKE`` would only read the rows again. Any longer needle is checked: its bigrams may
    lie apart in a text (小区 … 区物 is not 小区物).
    """
    terms = query_terms(needle)
    if not terms:
        return None
    exact = terms == [needle] and all(map(_caseless, needle))
    if dialect == "postgresql":
        return _postgres_match(terms), exact
    if dialect == "sqlite":
        return _sqlite_match(terms), exact
    return None

"""Issue 18: both modes find the same projects for the same query.

The words are cut by one Python tokenizer (``search.search_words``) for what is indexed and
for what is asked, so the result of a query is decided before either database sees it. This
test runs one corpus and one list of queries on the database this run uses (SQLite in the
embedded run, PostgreSQL in the scaled-out one: CI runs it on both) and compares what the
database finds with what the words alone say must match. Two databases that each agree with
the words agree with each other; before the shared tokenizer they did not (PostgreSQL's
parser kept "pdf2image" and "rocket-launcher" whole, FTS5 kept "ß" and split at "2").
"""

from __future__ import annotations

import pytest

from strongroom.packages import search
from strongroom.packages.models import Project

pytestmark = pytest.mark.django_db(transaction=True)

CORPUS = [
    # name, summary, keywords
    ("rocket-launcher", "Sends satellites into orbit", "space"),
    ("my_pkg.tools", "Small tools for my packages", "utilities"),
    ("pdf2image", "Turns PDF pages into images", "pdf imaging"),
    ("PyPDF", "Reads and writes PDF files", ""),
    ("cafe-menu", "Menus for a Café, crème brûlée included", "restaurant"),
    ("strassen-karte", "Karten der Straße und Wege", "Geographie"),
    ("privet", "Привет, мир: a greeting in Russian", "привет"),
    ("obrien", "O'Brien's helpers & tools | !not syntax", "NEAR(x y)"),
    ("numbers", "Version 2.0 of 3rd-party x86_64 wheels", "2026"),
    ("UPPER_case", "SHOUTING Summary", "LOUD"),
]

QUERIES = [
    "pdf",
    "PDF files",
    "pdf2",
    "image",
    "rocket",
    "launcher",
    "rocket-launcher",
    "pkg",
    "my pkg tools",
    "cafe",
    "CAFÉ",
    "creme brulee",
    "strasse",
    "straße",
    "привет",
    "ПРИВЕТ",
    "o'brien",
    "brien",
    "near",
    "x86",
    "64",
    "2026",
    "upper",
    "shouting",
    "tools",
    "not syntax",
    "a & b",
    "x:*",
    '"',
    "nothing-matches-this",
]


def expected(query: str) -> set[str]:
    """What must match, from the words alone: every query word is the start of a word of
    the project (any field). A query without words lists every project."""
    terms = search.query_terms(query)
    found = set()
    for name, summary, keywords in CORPUS:
        words = search.search_words(f"{name} {summary} {keywords}")
        if all(any(w.startswith(t) for w in words) for t in terms):
            found.add(name)
    return found


@pytest.fixture
def corpus(db):
    for name, summary, keywords in CORPUS:
        project = Project.objects.create(
            name=name,
            normalized_name=name.lower().replace("_", "-").replace(".", "-"),
            skeleton=name.lower(),
            summary=summary,
            keywords=keywords,
        )
        search.write_search_row(project.pk, name, summary, keywords)


@pytest.mark.parametrize("query", QUERIES)
def test_the_database_finds_what_the_words_say(corpus, query):
    results = search.search_projects(None, search.SearchQuery(text=query))
    found = {project.name for project in results[0 : len(results)]}
    # An exact project name is listed first even where its words would not all match.
    exact = {n for n, *_ in CORPUS if n.lower() == query.lower()}
    assert found - exact == expected(query) - exact


def test_the_corpus_exercises_what_the_databases_used_to_split_differently():
    """Guards the test itself: these queries must find something, or agreement is empty."""
    for query in ["pdf2", "pkg", "cafe", "strasse", "привет", "x86", "brien"]:
        assert expected(query), query


def test_search_words_fold_case_accents_and_separators():
    assert search.search_words("My_Pkg.Tools-2") == ["my", "pkg", "tools", "2"]
    assert search.search_words("Crème Brûlée, Straße") == ["creme", "brulee", "strasse"]
    assert search.search_words("ПРИВЕТ мир") == ["привет", "мир"]
    assert search.search_words("a & b | !c:* NEAR(x) \"'") == ["a", "b", "c", "near", "x"]

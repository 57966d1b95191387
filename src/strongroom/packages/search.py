"""Finding projects: full-text search and browse, behind one interface for both modes.

Embedded (SQLite): an FTS5 table ``packages_project_fts`` (rowid = project id) ranked by
BM25. Scaled out (PostgreSQL): ``Project.search_vector``, a weighted tsvector behind a GIN
index, ranked by ``ts_rank_cd``. Both are written at write time, by ``refresh_project``
in the caller's transaction (``packages.services.bump_serial`` calls it on every upload,
yank, un-yank and deletion), so a query reads one index and the project rows.

Neither database splits text into words: ``search_words`` does, in Python, for what is
indexed and for what is asked, so both modes find the same projects for the same query
(FTS5 uses its ``ascii`` tokenizer, which only splits our words at the spaces; PostgreSQL
is given the tsvector and tsquery as literals, bypassing its parser). The work a query may
do is bounded on both: at most RANK_LIMIT matches are scored, MAX_RESULTS shown and
counted, FACET_SAMPLE counted for the classifier facets.

Every listing (search, browse, a user's page) starts from ``listable_projects(viewer)``:
the one place that decides which projects a viewer may see listed.
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    BooleanField,
    F,
    Func,
    QuerySet,
)
from django.db.models.expressions import RawSQL
from packaging.version import InvalidVersion, Version

from strongroom.packages.models import Project, ProjectClassifier, Release
from strongroom.packages.visibility import readable_projects

if TYPE_CHECKING:
    from strongroom.accounts.models import User

FTS_TABLE = "packages_project_fts"
# Words beyond these are ignored: a query's cost stays bounded whatever is typed.
MAX_TERMS = 8
MAX_TERM_LENGTH = 50
# What is indexed is bounded too: a word's length, and how many words a field gives.
MAX_WORD_LENGTH = 100
MAX_FIELD_WORDS = 1000
WRITE_BATCH = 500
# A search shows the best this many matches (PyPI shows 10,000 at most).
MAX_RESULTS = 1000
# At most this many matches are scored: the newest RANK_LIMIT when a query matches more.
RANK_LIMIT = MAX_RESULTS
RANKED_SQL = (
    "SELECT rowid FROM packages_project_fts WHERE packages_project_fts MATCH %s "
    "ORDER BY bm25(packages_project_fts, 10.0, 4.0, 2.0), rowid DESC LIMIT %s"
)
NEWEST_SQL = (
    "SELECT rowid FROM packages_project_fts WHERE packages_project_fts MATCH %s "
    "ORDER BY rowid DESC LIMIT %s"
)
# Classifier counts beside search results are taken over at most this many matches.
FACET_SAMPLE = MAX_RESULTS
# The sample's ids travel as one parameter (an array; a JSON list on SQLite), joined to
# the (project, classifier) index. Given "project_id IN (...)", PostgreSQL scanned every
# classifier row of the site (40 ms at 100,000) and Django spent longer preparing a
# thousand parameters than SQLite spent counting.
FACETS_SQL_POSTGRESQL = (
    "SELECT c.classifier, count(*) AS n FROM unnest(%s::bigint[]) AS sample(id) "
    "JOIN packages_projectclassifier AS c ON c.project_id = sample.id "
    "GROUP BY c.classifier ORDER BY n DESC, c.classifier LIMIT %s"
)
FACETS_SQL_SQLITE = (
    "SELECT c.classifier, count(*) AS n FROM json_each(%s) AS sample "
    "JOIN packages_projectclassifier AS c ON c.project_id = sample.value "
    "GROUP BY c.classifier ORDER BY n DESC, c.classifier LIMIT %s"
)
# GET "sort" on /projects/ -> order.
BROWSE_ORDERS = {
    "newest": ("-created", "normalized_name"),
    "updated": ("-last_changed", "normalized_name"),
    "name": ("normalized_name",),
}


def listable_projects(viewer: User | None) -> QuerySet[Project]:
    """The projects ``viewer`` (None: anonymous) may see in any listing: those they may
    read (``packages.visibility``: public ones, and private ones they hold a role on),
    never a quarantined one (PEP 792). Every listing page goes through here."""
    return readable_projects(viewer).exclude(status=Project.Status.QUARANTINED)


# --- write time -----------------------------------------------------------------------


def newest_release(project: Project) -> Release | None:
    """The release whose metadata represents the project: the highest final version that
    is not yanked, else the highest version of any kind."""

    def key(release: Release) -> Version:
        try:
            return Version(release.version)
        except InvalidVersion:
            return Version("0")

    releases = sorted(project.releases.all(), key=key, reverse=True)
    for release in releases:
        if not release.yanked and not key(release).is_prerelease:
            return release
    return next((r for r in releases if not r.yanked), releases[0] if releases else None)


_WORD = re.compile(r"[^\W_]+")


def search_words(text: str) -> list[str]:
    """The words search sees in ``text``, the one tokenizer of both databases: runs of
    letters and digits (so "my_pkg-2" gives my, pkg, 2), case-folded, accents removed
    ("Café" is found by "cafe"). Everything else, FTS5 and tsquery syntax included, only
    separates words."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return [word[:MAX_WORD_LENGTH] for word in _WORD.findall(plain)]


def search_document(name: str, summary: str, keywords: str) -> tuple[str, str, str]:
    """The three indexed fields (name, summary, keywords) as space-separated words."""
    return (
        " ".join(search_words(name)[:MAX_FIELD_WORDS]),
        " ".join(search_words(summary)[:MAX_FIELD_WORDS]),
        " ".join(search_words(keywords)[:MAX_FIELD_WORDS]),
    )


def tsvector_literal(name: str, summary: str, keywords: str) -> str:
    """PostgreSQL's tsvector for a project, written out: name words weigh A, summary B,
    keywords C, each word at its position (ts_rank_cd ranks by them)."""
    entries = []
    position = 0
    for field, weight in zip(search_document(name, summary, keywords), "ABC", strict=True):
        for word in field.split():
            position = min(position + 1, 16383)  # tsvector's highest position
            entries.append(f"'{word}':{position}{weight}")
    return " ".join(entries)


def write_search_rows(rows: Iterable[tuple[int, str, str, str]], *, using: Any = None) -> None:
    """Replace the full-text entries of projects given as (id, name, summary, keywords),
    in batches (the migration that re-indexes every project and the benchmark use this
    too, so what they index is what the write path indexes)."""
    conn = using or connection
    rows = iter(rows)
    with conn.cursor() as cursor:
        while batch := list(itertools.islice(rows, WRITE_BATCH)):
            ids = [pk for pk, *_ in batch]
            if conn.vendor == "postgresql":
                cursor.execute(
                    "UPDATE packages_project AS p SET search_vector = v.vector::tsvector "
                    "FROM unnest(%s::bigint[], %s::text[]) AS v(id, vector) WHERE p.id = v.id",
                    [ids, [tsvector_literal(n, s, k) for _, n, s, k in batch]],
                )
                continue
            cursor.executemany(
                "DELETE FROM packages_project_fts WHERE rowid = %s", [(pk,) for pk in ids]
            )
            cursor.executemany(
                "INSERT INTO packages_project_fts (rowid, name, summary, keywords) "
                "VALUES (%s, %s, %s, %s)",
                [(pk, *search_document(n, s, k)) for pk, n, s, k in batch],
            )


def write_search_row(
    project_id: int, name: str, summary: str, keywords: str, *, using: Any = None
) -> None:
    """Replace the project's entry in the full-text index (either database)."""
    write_search_rows([(project_id, name, summary, keywords)], using=using)


def refresh_project(project: Project) -> None:
    """Copy the newest release's summary, keywords and classifiers onto the project and
    rewrite its full-text entry. Call inside the transaction that changed the project."""
    release = newest_release(project)
    project.latest_version = release.version if release else ""
    project.summary = release.summary if release else ""
    project.keywords = " ".join(str(k) for k in release.keywords) if release else ""
    project.save(update_fields=["latest_version", "summary", "keywords"])
    write_search_row(project.pk, project.name, project.summary, project.keywords)
    classifiers = sorted({str(c)[:255] for c in release.classifiers}) if release else []
    ProjectClassifier.objects.filter(project=project).exclude(classifier__in=classifiers).delete()
    have = set(
        ProjectClassifier.objects.filter(project=project).values_list("classifier", flat=True)
    )
    ProjectClassifier.objects.bulk_create(
        ProjectClassifier(project=project, classifier=c) for c in classifiers if c not in have
    )


def forget_project(project_id: int) -> None:
    """Drop a deleted project's full-text entry (PostgreSQL's goes with the row)."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM packages_project_fts WHERE rowid = %s", [project_id])


# --- read time ------------------------------------------------------------------------


def query_terms(text: str) -> list[str]:
    """The words of a query, as ``search_words`` makes them; punctuation and operators are
    never syntax."""
    return [word[:MAX_TERM_LENGTH] for word in search_words(text)[:MAX_TERMS]]


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    classifiers: tuple[str, ...] = ()

    @property
    def terms(self) -> list[str]:
        return query_terms(self.text)


# Both engines answer with the ids of the best MAX_RESULTS matches the viewer may see,
# best first; a page then reads only its own rows. Scoring is the costly part, so it is
# bounded: PostgreSQL scores the newest RANK_LIMIT matches (ts_rank_cd reads each one's
# vector); SQLite scores all matches with BM25 when there are at most RANK_LIMIT, and past
# that puts name matches first. A query matching more is made of words most projects have,
# which weigh almost nothing in either score, and scoring 50,000 of them would cost more
# than the 50 ms a search may take. Every word must match, each as a prefix ("djan" finds
# django); the terms are search_words, so they hold no quote or operator of either syntax.


class RankedProjects(Sequence[Project]):
    """What a search found: the ids, best first, known in full (at most MAX_RESULTS and
    an exact name), so counting them costs nothing; rows are read a page at a time.
    Paginator takes it as it takes a queryset (it counts with len())."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> Project: ...

    @overload
    def __getitem__(self, index: slice) -> list[Project]: ...

    def __getitem__(self, index: int | slice) -> Project | list[Project]:
        if isinstance(index, int):
            return Project.objects.get(pk=self.ids[index])
        ids = self.ids[index]
        rows = Project.objects.in_bulk(ids)
        return [rows[pk] for pk in ids if pk in rows]  # a project deleted meanwhile: gone


class _Matches(Func):
    """``search_vector @@ tsquery`` (PostgreSQL)."""

    arg_joiner = " @@ "
    template = "(%(expressions)s)"
    output_field = BooleanField()


def _ranked_ids_sqlite(projects: QuerySet[Project], terms: list[str]) -> list[int]:
    # BM25 weighs name > summary > keywords. It needs the number of matches of each word
    # over the whole index, as costly as counting them, so it runs only when the newest
    # RANK_LIMIT + 1 matches (read in rowid order, which costs FTS5 little) are all there
    # are; past that, name matches come first, each group newest first.
    match = " ".join(f'"{term}"*' for term in terms)
    with connection.cursor() as cursor:
        cursor.execute(NEWEST_SQL, [match, RANK_LIMIT + 1])
        newest = [row[0] for row in cursor.fetchall()]
        if len(newest) <= RANK_LIMIT:
            cursor.execute(RANKED_SQL, [match, MAX_RESULTS])
            ranked = [row[0] for row in cursor.fetchall()]
        else:
            in_name = " ".join(f'name : "{term}"*' for term in terms)
            cursor.execute(NEWEST_SQL, [in_name, MAX_RESULTS])
            names = [row[0] for row in cursor.fetchall()]
            named = set(names)
            ranked = (names + [pk for pk in newest if pk not in named])[:MAX_RESULTS]
    # One JSON parameter rather than a thousand: Django prepares each one of an IN list.
    of_ranked = RawSQL("SELECT value FROM json_each(%s)", [json.dumps(ranked)])
    visible = set(projects.filter(id__in=of_ranked).values_list("id", flat=True))
    return [pk for pk in ranked if pk in visible]


def _ranked_ids_postgresql(projects: QuerySet[Project], terms: list[str]) -> list[int]:
    # ts_rank_cd's default weights put A (name) over B (summary) over C (keywords).
    # "'http' | 'http':*" matches what "'http':*" does, but lets the planner estimate
    # from the word's own frequency: a prefix alone is guessed at 2% of the rows when
    # the statistics hold fewer than 100 common words, and a word most projects have
    # then gets a scan of all its matches instead of the newest RANK_LIMIT of them.
    tsquery = " & ".join(f"('{term}' | '{term}':*)" for term in terms)
    prefixes = " & ".join(f"'{term}':*" for term in terms)  # half the work to score

    # Past RANK_LIMIT matches, the newest ones alone would leave out an older project
    # named after the first word ("flask-login" among thousands of summaries saying
    # "flask"): the newest RANK_LIMIT matches whose name starts with it are candidates
    # too, found through the name's own index (the range; LIKE keeps it exact whatever
    # the collation), and their name weight (A) scores them above the others. A name
    # restriction inside the tsquery (':*A') was three times slower: GIN cannot test
    # weights, so PostgreSQL walked the id index checking rows.
    def newest(matches: QuerySet[Project]) -> tuple[str, tuple[Any, ...]]:
        # The viewer's filter goes into the candidates' scan, which reads each row anyway.
        matching = matches.filter(_Matches(F("search_vector"), RawSQL("%s::tsquery", [tsquery])))
        return (
            matching.order_by("-id")
            .values("id", "search_vector")[:RANK_LIMIT]
            .query.sql_with_params()
        )

    first = terms[0]
    named = projects.filter(
        normalized_name__gte=first,
        normalized_name__lt=first + "\U0010ffff",
        normalized_name__startswith=first,
    )
    try:
        (any_sql, any_params), (name_sql, name_params) = newest(projects), newest(named)
    except EmptyResultSet:  # the viewer may see nothing (a private site, signed out)
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM (({any_sql}) UNION ({name_sql})) AS candidates "  # noqa: S608 (Django's SQL, with params)
            "ORDER BY ts_rank_cd(search_vector, %s::tsquery) DESC, id DESC LIMIT %s",
            [*any_params, *name_params, prefixes, MAX_RESULTS],
        )
        return [row[0] for row in cursor.fetchall()]


def search_projects(viewer: User | None, query: SearchQuery) -> QuerySet[Project] | RankedProjects:
    """The projects matching every word of the query and every chosen classifier, the
    best first (an exact name first of all). No words: every project, by name."""
    projects = listable_projects(viewer)
    for classifier in query.classifiers:
        projects = projects.filter(classifier_rows__classifier=classifier)
    terms = query.terms
    if not terms:
        return projects.order_by("normalized_name")
    if connection.vendor == "postgresql":
        ranked = _ranked_ids_postgresql(projects, terms)
    else:
        ranked = _ranked_ids_sqlite(projects, terms)
    exact = re.sub(r"[-_.]+", "-", query.text.strip().lower())
    exact_id = projects.filter(normalized_name=exact).values_list("id", flat=True).first()
    if exact_id is not None:
        ranked = [exact_id] + [pk for pk in ranked if pk != exact_id]
    return RankedProjects(ranked)


def classifier_counts(
    projects: QuerySet[Project] | RankedProjects, limit: int = 40
) -> list[tuple[str, int]]:
    """The classifiers most used among ``projects`` (the first FACET_SAMPLE of them, so
    a query matching every project costs no more), with how many of them use each."""
    if isinstance(projects, RankedProjects):
        ids = projects.ids[:FACET_SAMPLE]
    else:
        ids = list(projects.order_by().values_list("id", flat=True)[:FACET_SAMPLE])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(FACETS_SQL_POSTGRESQL, [ids, limit])
        else:
            cursor.execute(FACETS_SQL_SQLITE, [json.dumps(ids), limit])
        return [(classifier, n) for classifier, n in cursor.fetchall()]


def browse_projects(viewer: User | None, order: str) -> QuerySet[Project]:
    """Every listable project, newest, recently updated or by name."""
    return listable_projects(viewer).order_by(*BROWSE_ORDERS.get(order, BROWSE_ORDERS["name"]))

"""Finding projects: full-text search and browse, behind one interface for both modes.

Embedded (SQLite): an FTS5 table ``packages_project_fts`` (rowid = project id) ranked by
BM25. Scaled out (PostgreSQL): ``Project.search_vector``, a weighted tsvector behind a GIN
index, ranked by ``ts_rank_cd``. Both are written at write time, by ``refresh_project``
in the caller's transaction (``packages.services.bump_serial`` calls it on every upload,
yank, un-yank and deletion), so a query reads one index and the project rows.

Every listing (search, browse, a user's page) starts from ``listable_projects(viewer)``:
the one place that decides which projects a viewer may see listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, F, FloatField, QuerySet
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
# A search shows the best this many matches (PyPI shows 10,000 at most).
MAX_RESULTS = 1000
RANK_LIMIT = 10_000
RANKED_SQL = (
    "SELECT rowid FROM packages_project_fts WHERE packages_project_fts MATCH %s "
    "ORDER BY bm25(packages_project_fts, 10.0, 4.0, 2.0) LIMIT %s"
)
NEWEST_SQL = (
    "SELECT rowid FROM packages_project_fts WHERE packages_project_fts MATCH %s "
    "ORDER BY rowid DESC LIMIT %s"
)
# Classifier counts beside search results are taken over at most this many matches.
FACET_SAMPLE = 2000
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


def name_words(name: str) -> str:
    """The name as written and split at its separators: "my_pkg" is found by "pkg"."""
    return f"{name} {re.sub(r'[-_.]+', ' ', name)}"


def write_search_row(
    project_id: int, name: str, summary: str, keywords: str, *, using: Any = None
) -> None:
    """Replace the project's entry in the full-text index (either database)."""
    conn = using or connection
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(
                "UPDATE packages_project SET search_vector = "
                "setweight(to_tsvector('simple', %s), 'A') || "
                "setweight(to_tsvector('simple', %s), 'B') || "
                "setweight(to_tsvector('simple', %s), 'C') WHERE id = %s",
                [name_words(name), summary, keywords, project_id],
            )
        else:
            cursor.execute("DELETE FROM packages_project_fts WHERE rowid = %s", [project_id])
            cursor.execute(
                "INSERT INTO packages_project_fts (rowid, name, summary, keywords) "
                "VALUES (%s, %s, %s, %s)",
                [project_id, name_words(name), summary, keywords],
            )


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
    """The words of a query, lower-cased; punctuation and operators are never syntax."""
    words = re.findall(r"\w+", text.lower())
    return [w[:MAX_TERM_LENGTH] for w in words[:MAX_TERMS]]


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    classifiers: tuple[str, ...] = ()

    @property
    def terms(self) -> list[str]:
        return query_terms(self.text)


# Both engines answer with the ids of the best MAX_RESULTS matches, best first; the page
# then reads those projects through listable_projects(), in that order. A query matching
# more than RANK_LIMIT projects is made of words nearly every project has (they weigh
# almost nothing in BM25 or ts_rank): those matches come newest first, because scoring
# 100,000 rows costs more than the 50 ms a search may take.


def _ranked_ids_sqlite(terms: list[str]) -> list[int]:
    # Every word must match, each as a prefix ("djan" finds django), quoted: FTS5
    # operators typed by a visitor are only words. BM25 weighs name > summary > keywords.
    match = " ".join(f'"{term}"*' for term in terms)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM packages_project_fts WHERE packages_project_fts MATCH %s", [match]
        )
        (count,) = cursor.fetchone()
        cursor.execute(RANKED_SQL if count <= RANK_LIMIT else NEWEST_SQL, [match, MAX_RESULTS])
        return [row[0] for row in cursor.fetchall()]


def _ranked_ids_postgresql(terms: list[str]) -> list[int]:
    tsquery = " & ".join(f"{term}:*" for term in terms)
    with connection.cursor() as cursor:
        # Stops at RANK_LIMIT + 1 rows: knowing "more than" costs no full count.
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM packages_project WHERE search_vector @@ "
            "to_tsquery('simple', %s) LIMIT %s) AS matches",
            [tsquery, RANK_LIMIT + 1],
        )
        (count,) = cursor.fetchone()
        if count <= RANK_LIMIT:
            cursor.execute(
                "SELECT id FROM packages_project WHERE search_vector @@ "
                "to_tsquery('simple', %s) ORDER BY "
                "ts_rank_cd(search_vector, to_tsquery('simple', %s)) DESC, id LIMIT %s",
                [tsquery, tsquery, MAX_RESULTS],
            )
        else:
            cursor.execute(
                "SELECT id FROM packages_project WHERE search_vector @@ "
                "to_tsquery('simple', %s) ORDER BY id DESC LIMIT %s",
                [tsquery, MAX_RESULTS],
            )
        return [row[0] for row in cursor.fetchall()]


def _in_rank_order(projects: QuerySet[Project], ranked: list[int], exact: str) -> QuerySet[Project]:
    exact_id = Project.objects.filter(normalized_name=exact).values_list("id", flat=True).first()
    if exact_id is not None and exact_id not in ranked:
        ranked.insert(0, exact_id)
    # The rank order travels as one string parameter: ",12,7,31," (position = rank).
    positions = "," + ",".join(str(pk) for pk in ranked) + ","
    if connection.vendor == "postgresql":
        position = RawSQL("strpos(%s, ',' || packages_project.id || ',')", [positions])
    else:
        position = RawSQL("instr(%s, ',' || packages_project.id || ',')", [positions])
    exact_name = RawSQL("packages_project.normalized_name = %s", [exact], BooleanField())
    return (
        projects.filter(id__in=ranked)
        .annotate(
            search_rank=ExpressionWrapper(position, output_field=FloatField()),
            exact_name=exact_name,
        )
        .order_by(F("exact_name").desc(), "search_rank")
    )


def search_projects(viewer: User | None, query: SearchQuery) -> QuerySet[Project]:
    """The projects matching every word of the query and every chosen classifier, the
    best first (an exact name first of all). No words: every project, by name."""
    projects = listable_projects(viewer)
    for classifier in query.classifiers:
        projects = projects.filter(classifier_rows__classifier=classifier)
    terms = query.terms
    if not terms:
        return projects.order_by("normalized_name")
    exact = re.sub(r"[-_.]+", "-", query.text.strip().lower())
    if connection.vendor == "postgresql":
        return _in_rank_order(projects, _ranked_ids_postgresql(terms), exact)
    return _in_rank_order(projects, _ranked_ids_sqlite(terms), exact)


def classifier_counts(projects: QuerySet[Project], limit: int = 40) -> list[tuple[str, int]]:
    """The classifiers most used among ``projects`` (the first FACET_SAMPLE of them, so
    a query matching every project costs no more), with how many of them use each."""
    ids = list(projects.order_by().values_list("id", flat=True)[:FACET_SAMPLE])
    rows = (
        ProjectClassifier.objects.filter(project_id__in=ids)
        .values("classifier")
        .annotate(n=Count("id"))
        .order_by("-n", "classifier")[:limit]
    )
    return [(row["classifier"], row["n"]) for row in rows]


def browse_projects(viewer: User | None, order: str) -> QuerySet[Project]:
    """Every listable project, newest, recently updated or by name."""
    return listable_projects(viewer).order_by(*BROWSE_ORDERS.get(order, BROWSE_ORDERS["name"]))

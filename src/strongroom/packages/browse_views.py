"""Finding projects and people: /search/, /projects/ and /user/<username>/.

Every list here comes from packages.search, which starts from ``listable_projects``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from strongroom.accounts.models import User
from strongroom.packages import search
from strongroom.packages.models import Project

MAX_QUERY_LENGTH = 200
MAX_CLASSIFIERS = 10


def _viewer(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _page(
    request: HttpRequest, projects: QuerySet[Project] | search.RankedProjects
) -> Page[Project]:
    return Paginator(projects, settings.SEARCH_PAGE_SIZE).get_page(request.GET.get("page"))


def _page_links(request: HttpRequest, page: Page[Project]) -> dict[str, str]:
    """Links to the previous and next page, keeping the rest of the query."""

    def url(number: int) -> str:
        query = request.GET.copy()
        query["page"] = str(number)
        return "?" + query.urlencode()

    links = {}
    if page.has_previous():
        links["previous_url"] = url(page.previous_page_number())
    if page.has_next():
        links["next_url"] = url(page.next_page_number())
    return links


def search_page(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    chosen = tuple(dict.fromkeys(c[:255] for c in request.GET.getlist("c") if c))
    query = search.SearchQuery(text=text, classifiers=chosen[:MAX_CLASSIFIERS])
    results = search.search_projects(_viewer(request), query)
    page = _page(request, results)
    facets = search.classifier_counts(results)

    def without(classifier: str) -> str:
        rest = [("q", text)] + [("c", c) for c in query.classifiers if c != classifier]
        return "?" + urlencode(rest)

    context: dict[str, Any] = {
        "query": query,
        "page": page,
        "facets": [(c, n) for c, n in facets if c not in query.classifiers],
        "chosen": [(c, without(c)) for c in query.classifiers],
        **_page_links(request, page),
    }
    return render(request, "packages/search.html", context)


def browse_page(request: HttpRequest) -> HttpResponse:
    order = request.GET.get("sort", "newest")
    if order not in search.BROWSE_ORDERS:
        order = "newest"
    page = _page(request, search.browse_projects(_viewer(request), order))
    orders = [
        ("newest", _("Newest")),
        ("updated", _("Recently updated")),
        ("name", _("Alphabetical")),
    ]
    context = {"page": page, "order": order, "orders": orders, **_page_links(request, page)}
    return render(request, "packages/browse.html", context)


def user_page(request: HttpRequest, username: str) -> HttpResponse:
    """A person's public profile: their name, when they joined, their projects."""
    person = get_object_or_404(User, username__iexact=username, is_active=True)
    projects = (
        search.listable_projects(_viewer(request))
        .filter(roles__user=person)
        .distinct()
        .order_by("normalized_name")
    )
    page = _page(request, projects)
    context = {"person": person, "page": page, **_page_links(request, page)}
    return render(request, "packages/user.html", context)

"""Issue 18, items 1-3: search, browse and people, on the database this run uses."""

from __future__ import annotations

import re

import pytest

from strongroom.accounts.actors import Actor
from strongroom.packages import search, services
from strongroom.packages.models import Project, ProjectClassifier, Release
from tests.distributions import post_upload, upload_form
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def publish(client, name, version="1.0", *, summary="A package", keywords="", classifiers=()):
    form = upload_form(
        name=name,
        version=version,
        summary=summary,
        keywords=keywords,
        classifiers=list(classifiers) or ["Programming Language :: Python :: 3"],
    )
    response = post_upload(client, form)
    assert response.status_code == 200, response.content


def names(response) -> list[str]:
    body = response.content.decode()
    return re.findall(r'<h3 class="project-card-title"><a href="/project/([^/]+)/">', body)


@pytest.fixture
def catalogue(client, user):
    publish(client, "rocket-launcher", summary="Sends satellites into orbit", keywords="space")
    publish(
        client,
        "orbit",
        summary="Plain maths for planets",
        classifiers=["Topic :: Scientific/Engineering", "Programming Language :: Python :: 3"],
    )
    publish(client, "gardening", summary="Tomatoes and orbit-free vegetables", keywords="plants")
    return client


def test_search_finds_a_project_by_a_word_of_its_summary(catalogue):
    assert names(catalogue.get("/search/?q=satellites")) == ["rocket-launcher"]
    assert names(catalogue.get("/search/?q=SATELLITE")) == ["rocket-launcher"]  # prefix, any case


def test_search_finds_keywords_and_name_parts(catalogue):
    assert names(catalogue.get("/search/?q=plants")) == ["gardening"]
    assert names(catalogue.get("/search/?q=launcher")) == ["rocket-launcher"]


def test_an_exact_name_ranks_first_then_name_over_summary(catalogue):
    found = names(catalogue.get("/search/?q=orbit"))
    assert found[0] == "orbit" and set(found) == {"orbit", "rocket-launcher", "gardening"}


def test_every_word_must_match(catalogue):
    assert names(catalogue.get("/search/?q=orbit+tomatoes")) == ["gardening"]
    assert names(catalogue.get("/search/?q=nothing-like-this")) == []


@pytest.mark.parametrize(
    "query", ['"', "a OR b", "NEAR(x y)", "*", "x:*", "!&|", "o'brien", "\\", "^", "' OR 1=1 --"]
)
def test_search_syntax_typed_by_a_visitor_is_only_words(catalogue, query):
    response = catalogue.get("/search/", {"q": query})
    assert response.status_code == 200


def test_classifier_filter_narrows_results(catalogue):
    page = catalogue.get("/search/?q=orbit").content.decode()
    assert "Topic :: Scientific/Engineering" in page  # offered as a filter, with a count
    response = catalogue.get("/search/", {"q": "orbit", "c": "Topic :: Scientific/Engineering"})
    assert names(response) == ["orbit"]
    response = catalogue.get("/search/", {"c": "Programming Language :: Python :: 3"})
    assert set(names(response)) == {"orbit", "rocket-launcher", "gardening"}


def test_search_paginates(catalogue, settings):
    settings.SEARCH_PAGE_SIZE = 2
    first = catalogue.get("/search/?q=orbit")
    second = catalogue.get("/search/?q=orbit&page=2")
    assert len(names(first)) == 2 and len(names(second)) == 1
    assert 'rel="next" ' in first.content.decode() or 'rel="next">' in first.content.decode()
    assert catalogue.get("/search/?q=orbit&page=abc").status_code == 200


def test_the_index_follows_new_releases_yanks_and_deletions(catalogue, user):
    publish(catalogue, "orbit", "2.0", summary="Now with comets")
    assert names(catalogue.get("/search/?q=comets")) == ["orbit"]
    assert names(catalogue.get("/search/?q=maths")) == []  # the newest release speaks
    release = Release.objects.get(project__name="orbit", version="2.0")
    services.yank_release(Actor.of(user), release, "bad")
    assert names(catalogue.get("/search/?q=maths")) == ["orbit"]
    assert Project.objects.get(name="orbit").latest_version == "1.0"
    services.remove_project(Actor.of(user), Project.objects.get(name="orbit"))
    assert names(catalogue.get("/search/?q=maths")) == []
    assert not ProjectClassifier.objects.filter(project__name="orbit").exists()


def test_a_pre_release_does_not_replace_the_final_release_in_listings(catalogue):
    publish(catalogue, "gardening", "2.0b1", summary="Beta summary")
    project = Project.objects.get(name="gardening")
    assert project.latest_version == "1.0" and "Tomatoes" in project.summary


def test_browse_orders_and_paginates(catalogue, settings):
    settings.SEARCH_PAGE_SIZE = 2
    assert names(catalogue.get("/projects/?sort=name")) == ["gardening", "orbit"]
    assert names(catalogue.get("/projects/?sort=name&page=2")) == ["rocket-launcher"]
    assert names(catalogue.get("/projects/?sort=newest")) == ["gardening", "orbit"]
    publish(catalogue, "rocket-launcher", "1.1")
    assert names(catalogue.get("/projects/?sort=updated"))[0] == "rocket-launcher"
    assert catalogue.get("/projects/?sort=bogus").status_code == 200


def test_user_page_lists_projects_and_join_date(catalogue, user):
    body = catalogue.get(f"/user/{user.username.upper()}/").content.decode()
    assert f'<h1 id="profile-heading">{user.username}</h1>' in body
    assert user.date_joined.strftime("%Y-%m-%d") in body
    assert set(names(catalogue.get(f"/user/{user.username}/"))) == {
        "gardening",
        "orbit",
        "rocket-launcher",
    }
    assert catalogue.get("/user/nobody-here/").status_code == 404


def test_inactive_people_have_no_page(client, db):
    person = UserFactory(is_active=False)
    assert client.get(f"/user/{person.username}/").status_code == 404


def test_every_listing_goes_through_listable_projects(catalogue, monkeypatch):
    """The one gate the visibility work narrows: no listing may read around it."""
    hidden = Project.objects.get(name="orbit")
    original = search.listable_projects
    monkeypatch.setattr(
        search, "listable_projects", lambda viewer: original(viewer).exclude(pk=hidden.pk)
    )
    for url in ["/search/?q=orbit", "/projects/?sort=name", "/search/"]:
        assert "orbit" not in names(catalogue.get(url)), url
    user_page = catalogue.get(f"/user/{Project.objects.get(name='orbit').roles.get().user}/")
    assert "orbit" not in names(user_page)
    facets = catalogue.get("/search/?q=maths").content.decode()
    assert "Scientific/Engineering" not in facets


def test_private_and_quarantined_projects_are_listed_only_for_those_with_access(catalogue, user):
    """Search, browse and user pages show a private project to its collaborators only, and
    a quarantined one to nobody (packages.visibility, PEP 792)."""
    from django.test import Client

    from strongroom.packages import lifecycle
    from strongroom.packages.visibility_services import set_visibility

    orbit = Project.objects.get(name="orbit")
    assert set_visibility(Actor.of(user), orbit, "private")
    urls = ["/search/?q=orbit", "/projects/?sort=name", f"/user/{user.username}/"]
    anonymous, outsider, owner = Client(), Client(), Client()
    owner.force_login(user)
    outsider.force_login(UserFactory(username="mallory"))
    for url in urls:
        assert "orbit" not in names(anonymous.get(url)), url
        assert "orbit" not in names(outsider.get(url)), url
        assert "orbit" in names(owner.get(url)), url  # its Owner still sees it
    rocket = Project.objects.get(name="rocket-launcher")
    lifecycle.quarantine_project(Actor.operator(), rocket, reason="Malware")
    for url in ["/search/?q=satellites", "/projects/?sort=name"]:
        assert "rocket-launcher" not in names(catalogue.get(url)), url


def test_an_older_name_match_is_found_past_the_scoring_limit(client, user, monkeypatch):
    """More matches than are scored (the newest RANK_LIMIT): a project whose name has the
    word still comes first, however old, on both databases (on PostgreSQL it was left out
    when newer summaries held the word)."""
    monkeypatch.setattr(search, "RANK_LIMIT", 3)
    monkeypatch.setattr(search, "MAX_RESULTS", 3)
    publish(client, "comet-tools", summary="Old helpers")
    for i in range(5):
        publish(client, f"newer-{i}", summary="Mentions a comet in passing")
    found = names(client.get("/search/?q=comet"))
    assert found[0] == "comet-tools", found
    assert len(found) == 3

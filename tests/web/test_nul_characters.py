"""A NUL character in a request's address or cookies is a 400, never a lookup.

PostgreSQL cannot compare text with a NUL (``DataError``), so before this rule a NUL in a
project name in the URL turned the project history page into a server error there.
"""

from __future__ import annotations

import pytest

from strongroom.packages.models import Project, Role

PATHS = [
    "/project/wid\x00get/history/",
    "/project/wid\x00get/",
    "/pypi/wid\x00get/json",
    "/simple/wid\x00get/",
    "/manage/project/wid\x00get/settings/",
]


@pytest.fixture
def widget(user):  # type: ignore[no-untyped-def]
    project = Project.objects.create(name="widget", normalized_name="widget")
    Role.objects.create(project=project, user=user, role_name=Role.Name.OWNER)
    return project


@pytest.mark.django_db
@pytest.mark.parametrize("path", PATHS)
def test_a_nul_in_the_path_is_a_400_for_anyone(client, signed_in, widget, path):
    for who in (client, signed_in):
        response = who.get(path)
        assert response.status_code == 400, (path, response.status_code)
        assert response.reason_phrase == "NUL character in request"


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["?q=a%00b", "?%00=1", "?next=/x%00y"])
def test_a_nul_in_the_query_is_a_400(client, query):
    assert client.get("/account/login/" + query).status_code == 400


@pytest.mark.django_db
def test_a_nul_in_a_cookie_is_a_400(client):
    response = client.get("/account/login/", HTTP_COOKIE="sessionid=abcdefgh\x00ijkl")
    assert response.status_code == 400


@pytest.mark.django_db
def test_ordinary_requests_are_untouched(client, widget):
    assert client.get("/project/widget/").status_code == 200
    assert client.get("/account/login/?next=/project/widget/").status_code == 200

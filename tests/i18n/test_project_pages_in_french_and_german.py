"""The pages that came with browse and search, the project and release pages, private
projects, attestations, read tokens and organisations: in French and in German, with no
English left on them."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from strongroom.packages.models import Project, Role
from tests.distributions import post_upload, upload_form
from tests.factories import UserFactory
from tests.i18n.english_left import english_left, english_left_in_text

pytestmark = pytest.mark.django_db(transaction=True)

# Trove classifiers are metadata, shown as the author wrote them (as on PyPI), not prose.
CLASSIFIERS = ["Programming Language :: Python :: 3", "Intended Audience :: Developers"]

PAGES = [
    "/",
    "/projects/",
    "/projects/?order=name",
    "/search/?q=sample",
    "/search/?q=nothing-matches-this",
    "/user/alice/",
    "/project/sample/",
    "/project/sample/1.0/",
    "/project/sample/2.0rc1/",
    "/manage/projects/",
    "/manage/project/sample/settings/",
    "/manage/project/sample/collaborators/",
    "/manage/project/sample/publishing/",
    "/manage/project/sample/attestations/",
    "/manage/account/token/",
    "/manage/account/tokens/",
    "/help/publishing/",
    "/organizations/",
]


def _metadata(piece: str) -> bool:
    return any(piece in classifier for classifier in CLASSIFIERS)


@pytest.fixture
def project(signed_in):  # type: ignore[no-untyped-def]
    form = upload_form(
        classifiers=CLASSIFIERS, keywords="sample,demo", license="MIT", author="Alice"
    )
    assert post_upload(signed_in, form).status_code == 200
    assert post_upload(signed_in, upload_form(version="2.0rc1")).status_code == 200
    project = Project.objects.get()
    project.visibility = Project.Visibility.PRIVATE
    project.save(update_fields=["visibility"])
    return project


@pytest.mark.parametrize("language", ["fr", "de"])
def test_project_pages_have_no_english_left(language: str, signed_in, project) -> None:  # type: ignore[no-untyped-def]
    found = {}
    for path in PAGES:
        response = signed_in.get(path, HTTP_ACCEPT_LANGUAGE=language, follow=True)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert re.search(rf'<html lang="{language}"', html), path
        left = [piece for piece in english_left(html, language) if not _metadata(piece)]
        if left:
            found[path] = left
    assert not found, f"English left in {language}: {found}"


def test_the_check_finds_english_on_these_pages(signed_in, project) -> None:  # type: ignore[no-untyped-def]
    html = signed_in.get("/project/sample/1.0/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert english_left(html, "fr") and english_left(html, "de")


@pytest.mark.parametrize(
    ("language", "words"), [("fr", "est désormais public"), ("de", "ist jetzt öffentlich")]
)
def test_visibility_email_and_message_are_in_the_language_of_the_request(  # type: ignore[no-untyped-def]
    language: str, words: str, signed_in, project
) -> None:
    other = UserFactory(username="bob")
    Role.objects.create(project=project, user=other, role_name=Role.Name.OWNER)
    mail.outbox.clear()
    response = signed_in.post(
        "/manage/project/sample/settings/visibility/",
        {"visibility": "public"},
        HTTP_ACCEPT_LANGUAGE=language,
        follow=True,
    )
    assert response.status_code == 200
    assert f"sample {words}." in response.content.decode()
    assert english_left(response.content.decode(), language) == []
    [message] = mail.outbox
    assert message.to == ["bob@example.org"] and words in message.subject
    assert not english_left_in_text(message.subject + " " + message.body, language)
    html = message.alternatives[0][0] if message.alternatives else ""
    assert not english_left(str(html), language)


ORGANISATION_PAGES = [
    "/organizations/",
    "/organizations/acme/",
    "/organizations/acme/members/",
    "/organizations/acme/teams/",
    "/organizations/acme/teams/core/",
]


@pytest.mark.parametrize("language", ["fr", "de"])
def test_organisation_pages_have_no_english_left(language: str, signed_in, user) -> None:  # type: ignore[no-untyped-def]
    from strongroom.accounts.actors import Actor
    from strongroom.orgs.services import create_organization
    from strongroom.orgs.teams import create_team

    organization = create_organization(Actor.of(user), "acme")
    create_team(Actor.of(user), organization, "core")
    found = {}
    for path in ORGANISATION_PAGES:
        response = signed_in.get(path, HTTP_ACCEPT_LANGUAGE=language, follow=True)
        assert response.status_code == 200, path
        left = english_left(response.content.decode(), language)
        if left:
            found[path] = left
    assert not found, f"English left in {language}: {found}"

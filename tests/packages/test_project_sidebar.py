"""Issue 18, item 2: the project page's sidebar and notices, from uploaded metadata."""

from __future__ import annotations

import pytest

from tests.distributions import post_upload, upload_form

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def body(client, user):
    form = upload_form(
        project_urls=["Docs, https://docs.example.org/", "Evil, javascript:alert(1)"],
        home_page="https://example.org/",
        license_expression="Apache-2.0",
        metadata_version="2.4",
        author="Ada Lovelace",
        keywords="one,two",
        classifiers=["Topic :: Software Development", "Programming Language :: Python :: 3"],
    )
    response = post_upload(client, form)
    assert response.status_code == 200, response.content
    return client.get("/project/sample/").content.decode()


def test_sidebar_shows_links_licence_author_and_classifiers(body, user):
    assert '<a href="https://docs.example.org/" rel="nofollow noopener">Docs</a>' in body
    assert '<a href="https://example.org/" rel="nofollow noopener">Homepage</a>' in body
    assert '<dd class="license">Apache-2.0</dd>' in body
    assert "Ada Lovelace" in body
    assert f'<a href="/user/{user.username}/">{user.username}</a>' in body
    assert "<dt>Topic</dt><dd>Software Development</dd>" in body
    assert "<code>&gt;=3.8</code>" in body


def test_a_javascript_project_url_is_never_a_link(body):
    assert "javascript:" not in body and "Evil" not in body


def test_older_and_pre_releases_are_marked(client, body):
    assert post_upload(client, upload_form(version="2.0")).status_code == 200
    assert post_upload(client, upload_form(version="3.0rc1")).status_code == 200
    page = client.get("/project/sample/").content.decode()
    assert 'sample <span class="version">2.0</span>' in page  # not the release candidate
    assert '<span class="badge pre">pre-release</span>' in page
    older = client.get("/project/sample/1.0/").content.decode()
    assert "A newer version of this project exists: 2.0." in older
    candidate = client.get("/project/sample/3.0rc1/").content.decode()
    assert "This is a pre-release" in candidate and "A newer version" not in candidate

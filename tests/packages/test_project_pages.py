import re

import pytest

from strongroom.events.models import Event
from strongroom.packages.models import File, Project, Release, UsedFilename
from strongroom.storage import get_storage
from tests.distributions import make_sdist, post_upload, sdist_filename, upload_form
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def project(client, user):
    form = upload_form(description="Hello <script>alert(1)</script> **bold**")
    assert post_upload(client, form).status_code == 200
    sdist = upload_form(make_sdist(), sdist_filename(), filetype="sdist")
    assert post_upload(client, sdist).status_code == 200
    assert post_upload(client, upload_form(version="2.0")).status_code == 200
    return Project.objects.get()


def test_project_page_shows_newest_release_safely(client, project):
    response = client.get("/project/sample/")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<h1>sample <span class="version">2.0</span></h1>' in body
    assert "pip install --index-url http://localhost:8000/simple/ sample==2.0" in body
    assert "<script" not in body.split("<main")[1].split("</main>")[0]
    assert " style=" not in body
    wheel = File.objects.get(filename="sample-2.0-py3-none-any.whl")
    assert wheel.sha256_digest in body


def test_release_page_escapes_description_and_lists_files(client, project):
    body = client.get("/project/sample/1.0/").content.decode()
    assert "<strong>bold</strong>" in body and "alert(1)</script>" not in body
    assert "sample-1.0.tar.gz" in body
    assert client.get("/project/sample/9.0/").status_code == 404
    assert client.get("/project/Sample/").status_code == 302


def test_owner_actions_need_reauthentication(signed_in, project):
    # A fresh login counts as a recent proof; an old one sends the user to confirm.
    session = signed_in.session
    session["strongroom_auth_at"] = 0
    session.save()
    response = signed_in.get("/manage/project/sample/release/1.0/yank/")
    assert response.status_code == 302 and "/account/reauthenticate/" in response["Location"]


def test_owner_yanks_and_unyanks_with_a_typed_confirmation(signed_in, project):
    url = "/manage/project/sample/release/1.0/yank/"
    page = signed_in.get(url).content.decode()
    assert re.search(r'<label for="id_confirm">Type 1.0 to confirm</label>', page)
    wrong = signed_in.post(url, {"reason": "bad", "confirm": "2.0"})
    assert wrong.status_code == 400 and not Release.objects.get(version="1.0").yanked
    assert signed_in.post(url, {"reason": "bad build", "confirm": "1.0"}).status_code == 302
    release = Release.objects.get(version="1.0")
    assert release.yanked and release.yanked_reason == "bad build"
    assert "bad build" in signed_in.get("/project/sample/1.0/").content.decode()
    unyank = "/manage/project/sample/release/1.0/unyank/"
    assert signed_in.post(unyank, {"confirm": "1.0"}).status_code == 302
    assert not Release.objects.get(version="1.0").yanked
    tags = list(Event.objects.filter(project=project).values_list("tag", flat=True))
    assert "project:release:yank" in tags and "project:release:unyank" in tags


def test_owner_deletes_file_release_and_project(signed_in, project):
    sdist = File.objects.get(filename="sample-1.0.tar.gz")
    url = "/manage/project/sample/file/sample-1.0.tar.gz/delete/"
    assert signed_in.post(url, {"confirm": "sample-1.0.tar.gz"}).status_code == 302
    assert not File.objects.filter(pk=sdist.pk).exists()
    assert not get_storage().exists(sdist.path)
    assert UsedFilename.objects.filter(filename="sample-1.0.tar.gz").exists()
    wheel = File.objects.get(filename="sample-1.0-py3-none-any.whl")
    url = "/manage/project/sample/release/1.0/delete/"
    assert signed_in.post(url, {"confirm": "1.0"}).status_code == 302
    assert not Release.objects.filter(version="1.0").exists()
    assert not get_storage().exists(wheel.path) and not get_storage().exists(wheel.metadata_path)
    assert (
        signed_in.post("/manage/project/sample/delete/", {"confirm": "sample"}).status_code == 302
    )
    assert not Project.objects.exists() and not File.objects.exists()
    # The event keeps the removed project's id (hashed rows are never rewritten).
    removed = Event.objects.select_related("project").get(tag="project:remove")
    assert removed.project is None and removed.project_id is not None
    assert removed.extra["project"] == "sample"
    assert Event.objects.filter(tag="file:remove").count() == 1
    assert Event.objects.filter(tag="project:release:remove").count() == 1


def test_history_is_for_owners_only(client, signed_in, project):
    body = signed_in.get("/project/sample/history/").content.decode()
    for label in ["Project created", "Release added", "File uploaded"]:
        assert label in body
    signed_in.logout()
    assert client.get("/project/sample/history/").status_code == 404
    UserFactory(username="bob")
    client.post("/account/login/", {"login": "bob", "password": "correct-horse-battery-staple-42"})
    assert client.get("/project/sample/history/").status_code == 404
    assert client.get("/manage/project/sample/delete/").status_code == 404

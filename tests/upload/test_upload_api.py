import pytest

from strongroom.events.models import Event
from strongroom.packages.models import File, Project, Release, Role, UsedFilename
from strongroom.storage import get_storage
from tests.distributions import make_sdist, post_upload, sdist_filename, upload_form

pytestmark = pytest.mark.django_db(transaction=True)


def test_wheel_upload_creates_project_release_file_and_owner(client, user):
    response = post_upload(client, upload_form())
    assert response.status_code == 200, response.content
    project = Project.objects.get(normalized_name="sample")
    assert Role.objects.get(project=project).user == user
    release = Release.objects.get(project=project)
    assert release.version == "1.0" and release.requires_python == ">=3.8"
    assert "<h1" in release.description_html and "<p>Hello.</p>" in release.description_html
    file = File.objects.get()
    assert file.metadata_sha256
    assert get_storage().exists(file.path) and get_storage().exists(file.metadata_path)
    assert UsedFilename.objects.filter(filename=file.filename).exists()
    tags = set(Event.objects.filter(project=project).values_list("tag", flat=True))
    assert tags == {"project:create", "project:release:add", "file:add"}
    assert Event.objects.get(tag="file:add").extra["project"] == "sample"


def test_second_file_joins_the_release(client, user):
    assert post_upload(client, upload_form()).status_code == 200
    sdist = upload_form(make_sdist(), sdist_filename(), filetype="sdist")
    assert post_upload(client, sdist).status_code == 200
    assert Release.objects.count() == 1 and File.objects.count() == 2


def test_non_member_cannot_upload_to_someone_elses_project(client, user):
    from tests.factories import UserFactory

    assert post_upload(client, upload_form()).status_code == 200
    UserFactory(username="mallory")
    response = post_upload(client, upload_form(version="2.0"), username="mallory")
    assert response.status_code == 403
    assert "isn't allowed to upload" in response.reason_phrase

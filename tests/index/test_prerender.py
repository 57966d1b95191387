"""Pre-rendered simple pages: stored at write time, never served once stale."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from strongroom.accounts.actors import Actor
from strongroom.index.models import SimplePage
from strongroom.packages.models import File, Project, Release
from strongroom.packages.services import remove_file, remove_project, yank_release
from tests.distributions import post_upload, upload_form

pytestmark = pytest.mark.django_db(transaction=True)
JSON = "application/vnd.pypi.simple.v1+json"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def published(client, user):
    assert post_upload(client, upload_form(name="cached-pkg", version="1.0")).status_code == 200
    return user


def _page(client, accept=""):
    response = client.get("/simple/cached-pkg/", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    return response


def test_an_upload_stores_the_page_for_the_new_serial(published):
    project = Project.objects.get(normalized_name="cached-pkg")
    page = SimplePage.objects.get(project=project)
    assert page.serial == project.last_serial
    assert b"cached_pkg-1.0-py3-none-any.whl" in bytes(page.html)
    assert json.loads(bytes(page.json))["versions"] == ["1.0"]


def test_a_new_upload_is_on_the_very_next_request(client, published):
    first = _page(client)
    _page(client, JSON)
    assert post_upload(client, upload_form(name="cached-pkg", version="2.0")).status_code == 200
    again = _page(client)
    assert "cached_pkg-2.0-py3-none-any.whl" in again.content.decode()
    assert again["ETag"] != first["ETag"]
    assert client.get("/simple/cached-pkg/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200
    assert json.loads(_page(client, JSON).content)["versions"] == ["1.0", "2.0"]


def test_a_yank_is_on_the_very_next_request(client, published, rf):
    _page(client)
    _page(client, JSON)
    yank_release(Actor.of(published), Release.objects.get(version="1.0"), "bad")
    assert 'data-yanked="bad"' in _page(client).content.decode()
    assert {f["yanked"] for f in json.loads(_page(client, JSON).content)["files"]} == {"bad"}


def test_a_deleted_file_or_project_is_gone_on_the_very_next_request(client, published, rf):
    assert post_upload(client, upload_form(name="cached-pkg", version="2.0")).status_code == 200
    _page(client)
    remove_file(Actor.of(published), File.objects.get(filename__contains="-1.0-"))
    assert "cached_pkg-1.0-" not in _page(client).content.decode()
    remove_project(Actor.of(published), Project.objects.get(normalized_name="cached-pkg"))
    assert client.get("/simple/cached-pkg/").status_code == 404
    assert not SimplePage.objects.exists()


def test_a_stored_page_for_an_older_serial_is_never_served(client, published):
    project = Project.objects.get(normalized_name="cached-pkg")
    SimplePage.objects.filter(project=project).update(
        serial=project.last_serial - 1, html=b"stale", json=b"stale"
    )
    assert b"stale" not in _page(client).content
    assert b"stale" not in _page(client, JSON).content
    # ...and the reader stored the current page for the next one.
    assert SimplePage.objects.get(project=project).serial == project.last_serial


def test_a_project_without_a_stored_page_is_rendered_and_stored(client, published):
    SimplePage.objects.all().delete()
    assert "cached_pkg-1.0-py3-none-any.whl" in _page(client).content.decode()
    assert SimplePage.objects.count() == 1


def test_fast_path_answers_carry_the_security_and_cache_headers(client, published):
    response = _page(client)
    assert response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Vary"] == "Accept, Accept-Encoding"
    assert response["Cache-Control"].startswith("public")
    assert "Set-Cookie" not in response


def test_bench_seeding_script_works_on_a_small_size(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "seed.py"),
            "--data-dir",
            str(tmp_path / "d"),
            "--projects",
            "6",
            "--big-releases",
            "3",
            "--download-mb",
            "1",
            "--peer-files",
            str(tmp_path / "files"),
        ],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "src"), "HOME": str(tmp_path)},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "seeded 6 projects, 8 releases, 15 files" in result.stdout
    assert len(list((tmp_path / "files").iterdir())) == 15

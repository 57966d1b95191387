"""Cached proxied pages on the bare WSGI fast path: served while fresh and unlocked,
never once a local project or a reservation takes the name, never past their max age."""

from __future__ import annotations

import dataclasses

import pytest
from django.test import Client

from strongroom.accounts.actors import Actor
from strongroom.index.fastwsgi import SimpleFastPath
from strongroom.orgs.models import Organization
from strongroom.proxy import services
from tests.distributions import post_upload, upload_form
from tests.index.test_fastwsgi import NotDjango, _call, _refuse
from tests.proxy.upstream_server import Upstream

pytestmark = pytest.mark.django_db
JSON = "application/vnd.pypi.simple.v1+json"


def fast(path: str) -> tuple[str, dict[str, str], bytes] | None:
    try:
        return _call(SimpleFastPath(_refuse), path, accept=JSON)  # type: ignore[no-any-return]
    except NotDjango:
        return None  # left to Django


def test_fresh_cached_page_is_answered_on_the_fast_path(client: Client, upstream: Upstream) -> None:
    upstream.add_wheel("fast-up", "1.0")
    assert fast("/simple/fast-up/") is None  # never fetched: Django fetches it
    django = client.get("/simple/fast-up/", HTTP_ACCEPT=JSON)
    answered = fast("/simple/fast-up/")
    assert answered is not None
    status, headers, body = answered
    assert status == "200 OK" and body == django.content
    assert headers["etag"] == django["ETag"]
    assert headers["surrogate-key"] == "project-fast-up"


def test_local_project_takes_the_name_from_the_fast_path_at_once(
    client: Client, upstream: Upstream, user
) -> None:  # type: ignore[no-untyped-def]
    upstream.add_wheel("taken", "5.0")
    client.get("/simple/taken/", HTTP_ACCEPT=JSON)
    assert fast("/simple/taken/") is not None
    services.allow_shadow(Actor.operator(), "taken")
    assert post_upload(client, upload_form(name="taken", version="1.0")).status_code == 200
    answered = fast("/simple/taken/")
    assert answered is None or b"/upstream/" not in answered[2]
    # The local page: its versions and files, nothing of the upstream's 5.0 (compared by
    # field: an upload time such as "...:05.0..." holds the same characters).
    local = client.get("/simple/taken/", HTTP_ACCEPT=JSON).json()
    assert "5.0" not in local["versions"]
    assert not [f for f in local["files"] if "-5.0" in f["filename"]]


def test_reservation_takes_the_name_from_the_fast_path(client: Client, upstream: Upstream) -> None:
    upstream.add_wheel("beta-thing", "1.0")
    client.get("/simple/beta-thing/", HTTP_ACCEPT=JSON)
    assert fast("/simple/beta-thing/") is not None
    Organization.objects.create(name="Beta", normalized_name="beta")
    services.reserve_prefix(Actor.operator(), "beta-", "Beta")
    assert fast("/simple/beta-thing/") is None
    assert client.get("/simple/beta-thing/", HTTP_ACCEPT=JSON).status_code == 404


def test_page_past_its_max_age_goes_to_django(client: Client, upstream: Upstream, settings) -> None:  # type: ignore[no-untyped-def]
    upstream.add_wheel("aging", "1.0")
    client.get("/simple/aging/", HTTP_ACCEPT=JSON)
    settings.UPSTREAM = dataclasses.replace(settings.UPSTREAM, max_age=0)
    assert fast("/simple/aging/") is None


def test_one_letter_names_are_proxied_too(client: Client, upstream: Upstream) -> None:
    upstream.add_wheel("q", "1.0")
    assert client.get("/simple/q/", HTTP_ACCEPT=JSON).status_code == 200
    assert fast("/simple/q/") is not None

"""Name locking, the dependency-confusion guard: local names are never proxied, reserved
prefixes are never proxied and only their holder creates them, an upstream name takes
a local project only when staff allow the shadow; and the cooldown."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from strongroom.accounts.actors import Actor, NotPermitted
from strongroom.events.models import Event
from strongroom.orgs.models import Organization, OrganizationRole
from strongroom.packages.models import File, Project
from strongroom.proxy import services
from tests.distributions import post_upload, upload_form
from tests.factories import UserFactory
from tests.proxy.upstream_server import Upstream

pytestmark = pytest.mark.django_db
JSON = "application/vnd.pypi.simple.v1+json"


def simple(client: Client, name: str):  # type: ignore[no-untyped-def]
    return client.get(f"/simple/{name}/", HTTP_ACCEPT=JSON)


def versions(client: Client, name: str) -> list[str]:
    response = simple(client, name)
    assert response.status_code == 200, response.content
    return list(response.json()["versions"])


@pytest.fixture
def acme(user) -> Organization:  # type: ignore[no-untyped-def]
    """The organisation Acme, with alice a member, holding the ``acme-`` prefix."""
    org = Organization.objects.create(name="Acme", normalized_name="acme")
    OrganizationRole.objects.create(organization=org, user=user, role_name="owner")
    services.reserve_prefix(Actor.operator(), "acme-", "Acme")
    return org


def test_local_project_is_never_merged_with_upstream(
    client: Client, upstream: Upstream, user
) -> None:  # type: ignore[no-untyped-def]
    assert post_upload(client, upload_form(name="acme-utils", version="1.0")).status_code == 200
    upstream.add_wheel("acme-utils", "99.0")
    assert versions(client, "acme-utils") == ["1.0"]
    assert not any(path.startswith("/simple/acme-utils") for path, _ in upstream.requests)


def test_name_stays_locked_with_every_file_deleted_and_any_status(
    client: Client, upstream: Upstream, user
) -> None:  # type: ignore[no-untyped-def]
    assert post_upload(client, upload_form(name="emptied", version="1.0")).status_code == 200
    File.objects.all().delete()
    Project.objects.filter(normalized_name="emptied").update(status=Project.Status.QUARANTINED)
    upstream.add_wheel("emptied", "99.0")
    local = simple(client, "emptied")  # the local project's page, whatever it holds
    assert "99.0" not in local.content.decode()
    assert "/upstream/" not in local.content.decode()
    assert client.get("/pypi/emptied/json").status_code == 404
    assert not any(path.startswith("/simple/emptied") for path, _ in upstream.requests)


def test_reserved_prefix_is_never_proxied(client: Client, upstream: Upstream, acme) -> None:  # type: ignore[no-untyped-def]
    upstream.add_wheel("acme-newthing", "1.0")
    assert simple(client, "acme-newthing").status_code == 404
    assert simple(client, "Acme_NewThing").status_code == 301  # the canonical redirect
    assert client.get("/pypi/acme-newthing/json").status_code == 404
    assert client.get("/project/acme-newthing/").status_code == 404
    assert not any(path.startswith("/simple/acme") for path, _ in upstream.requests)


def test_reserved_prefix_upload_by_a_non_holder_is_409(client: Client, acme) -> None:  # type: ignore[no-untyped-def]
    UserFactory(username="mallory")
    response = post_upload(client, upload_form(name="acme-newthing"), username="mallory")
    assert response.status_code == 409
    assert "reserved" in response.reason_phrase and "Acme" in response.reason_phrase
    assert not Project.objects.filter(normalized_name="acme-newthing").exists()


def test_reserved_prefix_upload_by_the_holder_creates_the_project(client: Client, acme) -> None:  # type: ignore[no-untyped-def]
    assert post_upload(client, upload_form(name="acme_newthing")).status_code == 200
    assert Project.objects.filter(normalized_name="acme-newthing").exists()


def test_reserving_is_staff_only_audited_and_checked(user, acme) -> None:  # type: ignore[no-untyped-def]
    event = Event.objects.get(tag="namespace:prefix:reserve")
    assert event.extra == {"prefix": "acme-", "organization": "Acme"}
    with pytest.raises(NotPermitted):
        services.reserve_prefix(Actor.of(user), "other-", "Acme")
    with pytest.raises(services.ProxyError, match="already reserved"):
        services.reserve_prefix(Actor.operator(), "ACME_", "Acme")
    with pytest.raises(services.ProxyError, match="No organisation"):
        services.reserve_prefix(Actor.operator(), "zz-", "Nobody")
    with pytest.raises(services.ProxyError, match="two letters"):
        services.reserve_prefix(Actor.operator(), "-", "Acme")


def test_upstream_name_cannot_be_taken_locally_without_a_shadow_allowance(
    client: Client, upstream: Upstream, user
) -> None:  # type: ignore[no-untyped-def]
    upstream.add_wheel("famous", "3.0")
    assert versions(client, "famous") == ["3.0"]
    refused = post_upload(client, upload_form(name="famous", version="9.0"))
    assert refused.status_code == 409
    assert "upstream" in refused.reason_phrase
    services.allow_shadow(Actor.operator(), "famous")
    assert Event.objects.filter(tag="proxy:shadow:allow").count() == 1
    assert post_upload(client, upload_form(name="famous", version="9.0")).status_code == 200
    assert versions(client, "famous") == ["9.0"]  # the fork, never merged
    with pytest.raises(NotPermitted):
        services.allow_shadow(Actor.of(user), "other")


def test_cooldown_hides_young_files_until_allowed(
    client: Client, upstream: Upstream, settings, user
) -> None:  # type: ignore[no-untyped-def]
    settings.UPSTREAM = dataclasses.replace(settings.UPSTREAM, cooldown=3 * 86400)
    young = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    upstream.add_wheel("cooling", "1.0")
    upstream.add_wheel("cooling", "1.1", upload_time=young)
    upstream.add_wheel("cooling", "1.2", upload_time=young)
    assert versions(client, "cooling") == ["1.0"]
    hidden = [
        f for f in upstream.projects["cooling"] if f.filename.endswith("1.1-py3-none-any.whl")
    ]
    assert client.get(f"/upstream/files/{hidden[0].sha256}/{hidden[0].filename}").status_code == 404
    services.allow_cooldown(Actor.operator(), "cooling", "1.1")
    assert versions(client, "cooling") == ["1.0", "1.1"]
    services.allow_cooldown(Actor.operator(), "Cooling")
    assert versions(client, "cooling") == ["1.0", "1.1", "1.2"]
    tags = list(
        Event.objects.filter(tag="proxy:cooldown:allow")
        .order_by("pk")
        .values_list("extra", flat=True)
    )
    assert tags == [{"project": "cooling", "version": "1.1"}, {"project": "cooling", "version": ""}]
    with pytest.raises(services.ProxyError):
        services.allow_cooldown(Actor.operator(), "cooling", "not a version")
    with pytest.raises(NotPermitted):
        services.allow_cooldown(Actor.of(user), "cooling")


def test_cooldown_hides_files_of_unknown_age(client: Client, upstream: Upstream, settings) -> None:  # type: ignore[no-untyped-def]
    settings.UPSTREAM = dataclasses.replace(settings.UPSTREAM, cooldown=60)
    upstream.html = True  # PEP 503 pages carry no upload time
    upstream.add_wheel("ageless", "1.0")
    assert versions(client, "ageless") == []

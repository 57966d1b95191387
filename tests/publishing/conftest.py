"""Fixtures: a running test issuer registered on the index, a project with a publisher."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from strongroom.accounts.actors import Actor
from strongroom.packages.models import Project, Role
from strongroom.publishing import services
from strongroom.publishing.models import Issuer, Publisher
from tests.distributions import basic_auth
from tests.publishing.issuer import LocalIssuer, github_claims


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as running:
        running.ci_claims = github_claims()
        yield running


@pytest.fixture
def github(db: Any, issuer: LocalIssuer) -> Issuer:
    """The test issuer, registered as a GitHub-kind issuer (discovery and JWKS fetched)."""
    return services.add_issuer(Actor.operator(), url=issuer.url, kind="github")


def make_project(name: str, owner: Any) -> Project:
    project = Project.objects.create(name=name, normalized_name=name, skeleton=name)
    Role.objects.create(project=project, user=owner, role_name=Role.Name.OWNER)
    return project


@pytest.fixture
def project(user: Any) -> Project:
    return make_project("sample", user)


@pytest.fixture
def publisher(github: Issuer, project: Project) -> Publisher:
    return Publisher.objects.create(
        issuer=github,
        project=project,
        repository="octo/sample",
        workflow="release.yml",
        environment="pypi",
    )


def mint(client: Any, token: object, **extra: Any) -> Any:
    body = json.dumps({"token": token, **extra})
    return client.post("/_/oidc/mint-token", data=body, content_type="application/json")


def audience() -> str:
    return str(settings.OIDC_AUDIENCE)


def upload_as(client: Any, form: dict[str, Any], token: str) -> Any:
    return client.post("/legacy/", form, HTTP_AUTHORIZATION=basic_auth("__token__", token))

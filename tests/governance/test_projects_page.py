"""'Your projects': role, last release, critical and 2FA flags, collaborators lacking 2FA;
sortable and filterable with GET parameters; a constant number of queries."""

from __future__ import annotations

import re

import pytest

from strongroom.packages.models import Project, Release, Role
from tests.factories import UserFactory
from tests.governance.conftest import client_for, give_totp

pytestmark = pytest.mark.django_db


def _many_projects(user, number, helper):
    projects = Project.objects.bulk_create(
        [Project(name=f"proj{i:04d}", normalized_name=f"proj{i:04d}") for i in range(number)]
    )
    Role.objects.bulk_create(
        [Role(project=p, user=user, role_name="Owner" if i % 2 else "Maintainer")
         for i, p in enumerate(projects)]
        + [Role(project=p, user=helper, role_name="Maintainer") for p in projects[::3]]
    )  # fmt: skip
    Release.objects.bulk_create(
        [Release(project=p, version="1.0", canonical_version="1", metadata_version="2.1")
         for p in projects]
    )  # fmt: skip
    Project.objects.filter(pk__in=[p.pk for p in projects[::10]]).update(marked_critical=True)
    return projects


def _names(body):
    return re.findall(r'<a href="/project/(proj\d+)/">', body)


@pytest.mark.parametrize("number", [5, 120])
def test_query_count_does_not_grow_with_projects(number, django_assert_max_num_queries):
    user, helper = UserFactory(username="olivia"), UserFactory(username="helper")
    give_totp(helper)
    _many_projects(user, number, helper)
    client = client_for(user)
    # Session, user, session record, count, one page: the same for 5 or 1,000 projects.
    with django_assert_max_num_queries(8):
        response = client.get("/manage/projects/?sort=-lacking&critical=yes")
    assert response.status_code == 200


def test_projects_are_sorted_filtered_and_paginated():
    user, helper = UserFactory(username="olivia"), UserFactory(username="helper")
    _many_projects(user, 120, helper)
    Project.objects.filter(name="proj0003").update(two_factor_required=True)
    client = client_for(user)
    first = client.get("/manage/projects/").content.decode()
    assert _names(first)[:2] == ["proj0000", "proj0001"] and len(_names(first)) == 50
    assert "120 projects" in first and 'rel="next"' in first
    critical = client.get("/manage/projects/?critical=yes").content.decode()
    assert _names(critical) == [f"proj{i:04d}" for i in range(0, 120, 10)]
    lacking = client.get("/manage/projects/?sort=-lacking&role=Owner").content.decode()
    rows = _names(lacking)
    # Projects where helper (no 2FA) also collaborates have 2 lacking; they come first.
    assert rows[0] in {f"proj{i:04d}" for i in range(0, 120, 3)}
    assert all(int(n[4:]) % 2 == 1 for n in rows)  # Owner filter
    twofa = client.get("/manage/projects/?2fa=yes&critical=no").content.decode()
    assert _names(twofa) == ["proj0003"]
    assert 'aria-sort="descending"' in client.get("/manage/projects/?sort=-name").content.decode()
    assert client.get("/manage/projects/?sort=bogus&page=999").status_code == 200


def test_other_users_projects_are_not_listed():
    user, other = UserFactory(username="olivia"), UserFactory(username="otto")
    _many_projects(other, 3, UserFactory(username="helper"))
    assert _names(client_for(user).get("/manage/projects/").content.decode()) == []

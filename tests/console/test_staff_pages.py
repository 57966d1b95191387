"""Issue 17: the staff actions outside the console's own pages (resolve a report, quarantine
from it, a project's status changes, trusted-publishing issuers) are confirmed with the
staff member's second factor, as the console's are: no proof, a wrong code, a code already
used, a recovery code or a request without its CSRF token changes nothing; a fresh code
(or, for key-only staff, the key's answer) does it, with its one audit event. The services
check it themselves; the operator's CLI needs no proof."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from django.test import Client

from strongroom.accounts.actors import Actor, NotPermitted
from strongroom.accounts.models import User
from strongroom.console.errors import ConsoleError
from strongroom.events.models import Event
from strongroom.mfa import recovery
from strongroom.mfa.models import RecoveryCode
from strongroom.packages import lifecycle, reports
from strongroom.packages.models import Project, ProjectReport
from strongroom.publishing import services as publishing
from strongroom.publishing.models import Issuer
from tests.conftest import signed_in_with_second_factor
from tests.console.conftest import fresh_code
from tests.console.softkey import SoftKey
from tests.factories import UserFactory
from tests.governance.conftest import give_totp, make_project
from tests.publishing.issuer import LocalIssuer

pytestmark = pytest.mark.django_db

OPERATOR = Actor.operator()


@dataclass
class World:
    """Staff ``sofia`` signed in with her second factor; ``sample`` (owned by Olive) with
    an open report; an issuer of the index's; a running OIDC issuer not yet registered."""

    staff: User
    client: Client
    project: Project
    report: ProjectReport
    issuer: Issuer
    local: LocalIssuer
    extra: dict[str, object] = field(default_factory=dict)

    def fresh(self) -> Project:
        return Project.objects.get(pk=self.project.pk)


@dataclass(frozen=True)
class StaffAction:
    """One staff action as its page posts it."""

    name: str
    url: Callable[[World], str]
    prefix: str
    fields: Callable[[World], dict[str, str]]
    tag: str
    done: Callable[[World], bool]
    page: Callable[[World], str]
    prepare: Callable[[World], object] = lambda world: None
    undo: Callable[[World], object] = lambda world: None


def _report_open(world: World) -> None:
    ProjectReport.objects.filter(pk=world.report.pk).update(
        state=ProjectReport.State.OPEN, resolved_by=None, resolved_at=None, resolution=""
    )


def _status(world: World) -> str:
    return world.fresh().status


ACTIONS = [
    StaffAction(
        "resolve a report",
        lambda w: f"/admin/reports/{w.report.pk}/resolve/",
        "resolve",
        lambda w: {"note": "Not spam."},
        "project:report:resolve",
        lambda w: ProjectReport.objects.get(pk=w.report.pk).state == "resolved",
        lambda w: f"/admin/reports/{w.report.pk}/",
        undo=_report_open,
    ),
    StaffAction(
        "quarantine from a report",
        lambda w: f"/admin/reports/{w.report.pk}/quarantine/",
        "quarantine",
        lambda w: {"reason": "Credential stealer"},
        "project:status:quarantine",
        lambda w: (
            _status(w) == "quarantined"
            and ProjectReport.objects.get(pk=w.report.pk).state == "resolved"
        ),
        lambda w: f"/admin/reports/{w.report.pk}/",
        undo=lambda w: (lifecycle.release_project(OPERATOR, w.project), _report_open(w)),
    ),
    StaffAction(
        "quarantine on the status page",
        lambda w: "/admin/project-status/sample/quarantine",
        "quarantine",
        lambda w: {"reason": "Malware"},
        "project:status:quarantine",
        lambda w: _status(w) == "quarantined",
        lambda w: "/admin/project-status/sample/",
        undo=lambda w: lifecycle.release_project(OPERATOR, w.project),
    ),
    StaffAction(
        "release from quarantine",
        lambda w: "/admin/project-status/sample/release",
        "release",
        lambda w: {"reason": "Cleared"},
        "project:status:release",
        lambda w: _status(w) == "active",
        lambda w: "/admin/project-status/sample/",
        prepare=lambda w: lifecycle.quarantine_project(OPERATOR, w.project, "Malware"),
        undo=lambda w: lifecycle.quarantine_project(OPERATOR, w.project, "Malware"),
    ),
    StaffAction(
        "deprecate",
        lambda w: "/admin/project-status/sample/deprecate",
        "deprecate",
        lambda w: {"reason": "Use sample2"},
        "project:status:deprecate",
        lambda w: _status(w) == "deprecated",
        lambda w: "/admin/project-status/sample/",
        undo=lambda w: lifecycle.undeprecate_project(OPERATOR, w.project),
    ),
    StaffAction(
        "undeprecate",
        lambda w: "/admin/project-status/sample/undeprecate",
        "undeprecate",
        lambda w: {},
        "project:status:undeprecate",
        lambda w: _status(w) == "active",
        lambda w: "/admin/project-status/sample/",
        prepare=lambda w: lifecycle.deprecate_project(OPERATOR, w.project, "Use sample2"),
        undo=lambda w: lifecycle.deprecate_project(OPERATOR, w.project, "Use sample2"),
    ),
    StaffAction(
        "disable an issuer",
        lambda w: f"/manage/issuers/{w.issuer.pk}/disable",
        "issuer",
        lambda w: {},
        "publishing:issuer:disable",
        lambda w: not Issuer.objects.get(pk=w.issuer.pk).enabled,
        lambda w: "/manage/issuers/",
        undo=lambda w: Issuer.objects.filter(pk=w.issuer.pk).update(enabled=True),
    ),
    StaffAction(
        "enable an issuer",
        lambda w: f"/manage/issuers/{w.issuer.pk}/enable",
        "issuer",
        lambda w: {},
        "publishing:issuer:enable",
        lambda w: Issuer.objects.get(pk=w.issuer.pk).enabled,
        lambda w: "/manage/issuers/",
        prepare=lambda w: Issuer.objects.filter(pk=w.issuer.pk).update(enabled=False),
        undo=lambda w: Issuer.objects.filter(pk=w.issuer.pk).update(enabled=False),
    ),
    StaffAction(
        "add an issuer",
        lambda w: "/manage/issuers/add",
        "add",
        lambda w: {"url": w.local.url, "kind": "forgejo", "audience": ""},
        "publishing:issuer:add",
        lambda w: Issuer.objects.filter(url=w.local.url, kind="forgejo").exists(),
        lambda w: "/manage/issuers/",
        undo=lambda w: Issuer.objects.filter(url=w.local.url).delete(),
    ),
]
IDS = [action.name for action in ACTIONS]


def _world(staff: User, client: Client, local: LocalIssuer) -> World:
    owner = UserFactory(username="olive")
    project = make_project("sample", owner)
    report = reports.report_project(Actor.of(UserFactory(username="rita")), project, "spam")
    issuer = Issuer.objects.create(url="https://ci.example.org", kind="generic", jwks={})
    return World(staff, client, project, report, issuer, local)


@pytest.fixture
def local_issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as running:
        yield running


@pytest.fixture
def world(db, local_issuer: LocalIssuer) -> World:
    staff = UserFactory(username="sofia", staff=True)
    give_totp(staff)
    return _world(staff, signed_in_with_second_factor(staff), local_issuer)


def _events(tag: str) -> list[Event]:
    return list(Event.objects.filter(tag=tag))


def _post(world: World, action: StaffAction, client: Client | None = None, **proof: str):  # type: ignore[no-untyped-def]
    data = {f"{action.prefix}-{k}": v for k, v in {**action.fields(world), **proof}.items()}
    return (client or world.client).post(action.url(world), data)


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_each_staff_action_needs_a_fresh_code_from_the_app(world: World, action) -> None:  # type: ignore[no-untyped-def]
    action.prepare(world)
    page = world.client.get(action.page(world)).content.decode()
    assert f'id="id_{action.prefix}' in page and "Code from your authenticator app" in page
    assert "data-webauthn" not in page  # staff with an app type its code
    before = len(_events(action.tag))

    no_proof = _post(world, action)
    assert no_proof.status_code == 400 and "This field is required." in no_proof.content.decode()
    wrong = _post(world, action, code="000000")
    assert wrong.status_code == 400 and "is not correct" in wrong.content.decode()
    spare = recovery.generate_codes()[0]
    kept = RecoveryCode.objects.create(user=world.staff, code_hash=recovery.hash_code(spare))
    by_recovery_code = _post(world, action, code=spare)
    assert by_recovery_code.status_code == 400
    kept.refresh_from_db()
    assert kept.used_at is None  # not spent either
    assert not action.done(world) and len(_events(action.tag)) == before

    code = fresh_code(world.staff)
    accepted = _post(world, action, code=code)
    assert accepted.status_code == 302, accepted.content.decode()
    assert action.done(world)
    events = _events(action.tag)
    assert len(events) == before + 1
    assert events[-1].actor_id == world.staff.pk

    # The same code again, for the same action once undone: refused, nothing done.
    action.undo(world)
    replayed = _post(world, action, code=code)
    assert replayed.status_code == 400 and "already used" in replayed.content.decode()
    assert not action.done(world) and len(_events(action.tag)) == before + 1


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_a_post_without_its_csrf_token_is_refused(world: World, action) -> None:  # type: ignore[no-untyped-def]
    action.prepare(world)
    forged = Client(enforce_csrf_checks=True)
    forged.cookies = world.client.cookies  # the staff member's session, from another site
    response = _post(world, action, client=forged, code=fresh_code(world.staff))
    assert response.status_code == 403
    assert not action.done(world) and not _events(action.tag)


@pytest.fixture
def key_world(db, local_issuer: LocalIssuer) -> World:
    staff = UserFactory(username="kim", staff=True)
    key = SoftKey(staff)
    key.register()  # the account's only second factor
    world = _world(staff, signed_in_with_second_factor(staff), local_issuer)
    world.extra["key"] = key
    return world


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_key_only_staff_confirm_with_their_key(key_world: World, action) -> None:  # type: ignore[no-untyped-def]
    world = key_world
    action.prepare(world)
    page = world.client.get(action.page(world)).content.decode()
    assert "This action is confirmed with your security key, which needs JavaScript" in page
    assert 'data-webauthn="authenticate"' in page and "/static/mfa/webauthn.js" in page
    assert "Code from your authenticator app" not in page
    # Without JavaScript the key's answer is missing: the page says the key needs it.
    response = _post(world, action)
    assert response.status_code == 400
    assert "Confirming with a security key needs JavaScript" in response.content.decode()
    assert not action.done(world)

    options = world.client.post("/admin/confirm-with-key")
    assert options.status_code == 200
    key = world.extra["key"]
    answer = key.assertion(json.loads(options.content))  # type: ignore[attr-defined]
    accepted = _post(world, action, credential=answer)
    assert accepted.status_code == 302, accepted.content.decode()
    assert action.done(world)
    (event,) = _events(action.tag)
    assert event.actor_id == world.staff.pk

    action.undo(world)  # the same answer again: its challenge was single use
    replayed = _post(world, action, credential=answer)
    assert replayed.status_code == 400
    assert "came too late or was already used" in replayed.content.decode()
    assert not action.done(world) and len(_events(action.tag)) == 1


def test_staff_with_an_app_and_a_key_type_the_code(world: World) -> None:
    SoftKey(world.staff).register()
    page = world.client.get(f"/admin/reports/{world.report.pk}/").content.decode()
    assert "Code from your authenticator app" in page and "data-webauthn" not in page


# --- the services themselves ------------------------------------------------------------


def _service_calls(world: World) -> list[Callable[..., object]]:
    return [
        lambda **proof: reports.resolve_report(
            Actor.of(world.staff), world.report, "note", **proof
        ),
        lambda **proof: lifecycle.quarantine_project(
            Actor.of(world.staff), world.project, "x", **proof
        ),
        lambda **proof: lifecycle.deprecate_project(
            Actor.of(world.staff), world.project, "x", **proof
        ),
        lambda **proof: publishing.set_issuer_enabled(
            Actor.of(world.staff), world.issuer.pk, False, **proof
        ),
        lambda **proof: publishing.add_issuer(
            Actor.of(world.staff), url=world.local.url, kind="forgejo", **proof
        ),
    ]


def test_the_services_refuse_staff_without_a_proof(world: World) -> None:
    spare = recovery.generate_codes()[0]
    RecoveryCode.objects.create(user=world.staff, code_hash=recovery.hash_code(spare))
    for call in _service_calls(world):
        with pytest.raises(ConsoleError, match="none was given"):
            call()
        with pytest.raises(ConsoleError):
            call(proof=spare)
    assert world.fresh().status == "active"
    assert ProjectReport.objects.get(pk=world.report.pk).state == "open"
    assert Issuer.objects.get(pk=world.issuer.pk).enabled
    assert not Issuer.objects.filter(url=world.local.url).exists()
    assert not Event.objects.filter(
        tag__regex=r"^(project:status|publishing:issuer|project:report:resolve)"
    )


def test_staff_without_a_second_factor_cannot_act_at_all(world: World) -> None:
    bare = UserFactory(username="newstaff", staff=True)
    with pytest.raises(NotPermitted, match="second factor"):
        lifecycle.quarantine_project(Actor.of(bare), world.project, "x", proof="123456")
    with pytest.raises(NotPermitted):
        reports.resolve_report(Actor.of(UserFactory(username="norma")), world.report, "x")


def test_the_operator_cli_needs_no_proof(world: World) -> None:
    reports.resolve_report(OPERATOR, world.report, "Handled by mail.")
    lifecycle.quarantine_project(OPERATOR, world.project, "Malware")
    lifecycle.release_project(OPERATOR, world.project)
    lifecycle.deprecate_project(OPERATOR, world.project, "Use sample2")
    lifecycle.undeprecate_project(OPERATOR, world.project)
    publishing.set_issuer_enabled(OPERATOR, world.issuer.pk, False)
    publishing.add_issuer(OPERATOR, url=world.local.url, kind="forgejo")
    assert Event.objects.filter(tag__startswith="project:status:").count() == 4
    assert ProjectReport.objects.get(pk=world.report.pk).resolved_by is None


@pytest.mark.parametrize("action", ACTIONS, ids=IDS)
def test_staff_pages_and_their_answers_are_not_stored(world: World, action) -> None:  # type: ignore[no-untyped-def]
    """A report, a project's status, the issuers: no shared or history cache keeps them,
    neither the page nor the answer to a confirmed action."""
    action.prepare(world)
    page = world.client.get(action.page(world))
    assert page.status_code == 200
    assert page["Cache-Control"] == "private, no-store"
    answer = _post(world, action, code="000000")
    assert answer["Cache-Control"] == "private, no-store"
    assert world.client.get("/admin/reports/")["Cache-Control"] == "private, no-store"

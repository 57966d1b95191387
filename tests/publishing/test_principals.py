"""Publisher tokens are API-token macaroons whose principal is a publisher: a holder can
narrow them but never turn one kind into the other; claim matching per issuer kind."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import timezone
from pymacaroons import Macaroon

from strongroom.publishing.models import Issuer, Publisher
from strongroom.publishing.verify import publisher_matches, untrusted_event
from strongroom.tokens import macaroons
from strongroom.tokens.caveats import Permission, ProjectRef, TokenContext
from strongroom.tokens.principals import (
    claimed_publisher,
    mint_publisher_token,
    verify_publisher_token,
)
from tests.publishing.issuer import github_claims, gitlab_claims


def context(name: str = "sample", project_id: str | None = "7") -> TokenContext:
    return TokenContext(
        now=timezone.now(),
        permission=Permission.UPLOAD,
        project_id=project_id,
        project_name=name,
        organization_id=None,
    )


def token(**overrides: object) -> str:
    now = int(timezone.now().timestamp())
    fields: dict[str, object] = {
        "token_id": "tok-1",
        "publisher_id": "pub-1",
        "project": ProjectRef(id="7", name="sample"),
        "not_before": now - 5,
        "expires_at": now + 900,
        **overrides,
    }
    return mint_publisher_token(**fields)  # type: ignore[arg-type]


def append(raw: str, caveat: str) -> str:
    macaroon = Macaroon.deserialize(raw.removeprefix(settings.TOKEN_PREFIX))
    macaroon.add_first_party_caveat(caveat)
    return settings.TOKEN_PREFIX + macaroon.serialize()


def test_a_publisher_token_verifies_for_its_project_only(db):
    raw = token()
    assert claimed_publisher(raw) == ("tok-1", "pub-1")
    assert verify_publisher_token(raw, context()).publisher_id == "pub-1"
    with pytest.raises(macaroons.InvalidToken, match="scoped to sample"):
        verify_publisher_token(raw, context("other", "8"))


def test_an_expired_publisher_token_is_refused(db):
    now = int(timezone.now().timestamp())
    with pytest.raises(macaroons.InvalidToken, match="expired"):
        verify_publisher_token(token(not_before=now - 2000, expires_at=now - 1), context())


def test_a_holder_cannot_name_another_publisher(db):
    raw = append(token(), '{"id":"pub-2","t":"publisher","v":1}')
    with pytest.raises(macaroons.InvalidToken, match="exactly one"):
        verify_publisher_token(raw, context())


def test_a_holder_cannot_turn_it_into_an_account_token(db):
    raw = append(token(), '{"id":"1","t":"user","v":1}')
    with pytest.raises(macaroons.InvalidToken, match="does not belong to its owner"):
        verify_publisher_token(raw, context())


def test_a_holder_may_narrow_it(db):
    now = int(timezone.now().timestamp())
    raw = append(token(), f'{{"exp":{now - 1},"nbf":0,"t":"expiry","v":1}}')
    with pytest.raises(macaroons.InvalidToken, match="expired"):
        verify_publisher_token(raw, context())


def test_an_account_token_with_a_publisher_caveat_is_refused(db, user):
    from tests.distributions import upload_token

    raw = append(upload_token("alice"), '{"id":"pub-1","t":"publisher","v":1}')
    from strongroom.tokens.contexts import upload_context
    from strongroom.tokens.services import TokenError, verify_token

    with pytest.raises(TokenError, match="belongs to a trusted publisher"):
        verify_token(raw, upload_context(None, "sample"))


def _publisher(kind: str, **fields: object) -> Publisher:
    issuer = Issuer(url="https://ci.example.org", kind=kind)
    return Publisher(issuer=issuer, **fields)  # type: ignore[arg-type]


def test_forgejo_workflows_may_live_in_dot_forgejo():
    publisher = _publisher("forgejo", repository="o/r", workflow="release.yml")
    claims = github_claims("o/r", environment=None)
    claims["workflow_ref"] = "o/r/.forgejo/workflows/release.yml@refs/tags/v1"
    assert publisher_matches(publisher, claims)
    assert not publisher_matches(_publisher("github", repository="o/r", workflow="release.yml"),
                                 claims)  # fmt: skip


def test_a_reusable_workflow_is_matched_by_job_workflow_ref():
    shared = "org/shared/.github/workflows/publish.yml"
    publisher = _publisher("github", repository="o/r", workflow=shared)
    claims = github_claims("o/r", "caller.yml", environment=None)
    claims["job_workflow_ref"] = f"{shared}@refs/heads/main"
    assert publisher_matches(publisher, claims)
    claims["job_workflow_ref"] = "evil/shared/.github/workflows/publish.yml@refs/heads/main"
    assert not publisher_matches(publisher, claims)


def test_gitlab_matching_is_exact_on_host_and_path():
    publisher = _publisher("gitlab", repository="group/app", workflow=".gitlab-ci.yml")
    assert publisher_matches(publisher, gitlab_claims("group/app", host="ci.example.org"))
    nested = gitlab_claims("group/app", host="ci.example.org")
    nested["ci_config_ref_uri"] = "ci.example.org/evil/group/app//.gitlab-ci.yml@refs/heads/main"
    assert not publisher_matches(publisher, nested)
    assert not publisher_matches(publisher, gitlab_claims("group/app", host="other.example.org"))


def test_google_needs_a_verified_email():
    publisher = _publisher("google", repository="ci@proj.iam.gserviceaccount.com", claims={})
    claims = {"sub": "1", "email": "ci@proj.iam.gserviceaccount.com", "email_verified": True}
    assert publisher_matches(publisher, claims)
    assert not publisher_matches(publisher, {**claims, "email_verified": False})


def test_generic_policy_needs_every_claim():
    publisher = _publisher("generic", claims={"sub": "bot", "azp": "release"})
    assert publisher_matches(publisher, {"sub": "bot", "azp": "release", "extra": 1})
    assert not publisher_matches(publisher, {"sub": "bot"})
    assert not publisher_matches(_publisher("generic", claims={}), {"sub": "bot"})


def test_untrusted_github_events():
    issuer = Issuer(url="https://x", kind="github")
    assert untrusted_event(issuer, {"event_name": "pull_request_target"}) == "pull_request_target"
    assert untrusted_event(issuer, {"event_name": "workflow_run"}) == "workflow_run"
    assert untrusted_event(issuer, {"event_name": "push"}) is None

"""One verification against the whole request context; one spelling per token; hostile
tokens and caveats are refused with a TokenError (a 403 on /legacy/), never a 500."""

import base64
import contextlib
import json
import string

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymacaroons import Macaroon
from pymacaroons.serializers import BinarySerializer

from strongroom.accounts.actors import Actor
from strongroom.packages.models import Project, Role
from strongroom.tokens import services
from strongroom.tokens.caveats import TokenContext
from strongroom.tokens.contexts import upload_context
from tests.distributions import basic_auth, make_wheel, upload_form

pytestmark = pytest.mark.django_db
PREFIX = "strongroom-"


@pytest.fixture
def projects(user):
    made = {}
    for name in ("alpha", "beta"):
        made[name] = Project.objects.create(name=name, normalized_name=name)
        Role.objects.create(project=made[name], user=user, role_name=Role.Name.OWNER)
    return made


def _token(user, projects=None, name="ci"):
    return services.create_token(
        Actor.of(user), name=name, project_names=projects, expires_at=None
    )[1]


def _append(raw, *caveats):
    macaroon = Macaroon.deserialize(raw.removeprefix(PREFIX))
    for caveat in caveats:
        macaroon.add_first_party_caveat(caveat)
    return PREFIX + macaroon.serialize()


def _upload(client, raw, name="alpha", version="1.0"):
    form = upload_form(make_wheel(name, version), name=name, version=version)
    return client.post("/legacy/", form, HTTP_AUTHORIZATION=basic_auth("__token__", raw))


# --- one verification, the whole context ------------------------------------------------


def test_the_one_verification_checks_the_project_scope(user, projects):
    raw = _token(user, ["alpha"])
    services.verify_token(raw, upload_context(projects["alpha"], "alpha"))
    with pytest.raises(services.TokenError, match="scoped to alpha and is not valid for beta"):
        services.verify_token(raw, upload_context(projects["beta"], "beta"))
    with pytest.raises(services.TokenError, match="not valid for brand-new"):
        services.verify_token(raw, upload_context(None, "brand-new"))


def test_a_project_freed_and_registered_again_is_not_in_the_old_scope(user, projects):
    raw = _token(user, ["alpha"])
    projects["alpha"].delete()
    again = Project.objects.create(name="alpha", normalized_name="alpha")
    with pytest.raises(services.TokenError, match="not valid for alpha"):
        services.verify_token(raw, upload_context(again, "alpha"))


def test_a_permission_tokens_do_not_grant_is_refused(user):
    raw = _token(user)
    context = TokenContext(
        now=timezone.now(),
        permission="admin",  # type: ignore[arg-type]
        project_id=None,
        project_name="x",
        organization_id=None,
    )
    with pytest.raises(services.TokenError, match="do not grant the admin permission"):
        services.verify_token(raw, context)


def test_there_is_no_separate_project_check_left_to_forget():
    assert not hasattr(services, "check_token_project")
    with pytest.raises(TypeError):
        services.verify_token("strongroom-x")  # type: ignore[call-arg]


def test_identifying_a_token_grants_nothing_the_upload_verifies_it(client, user, projects):
    raw = _append(_token(user), json.dumps({"v": 1, "t": "projects", "p": [{"n": "alpha"}]}))
    assert services.identify_token(raw).user == user
    assert _upload(client, raw, "alpha").status_code == 200
    response = _upload(client, raw, "beta")
    assert response.status_code == 403
    assert "not valid for beta" in response.content.decode()


@pytest.mark.parametrize(
    "caveat",
    [
        {"v": 1, "t": "ip", "allow": "0.0.0.0/0"},
        {"v": 1, "t": "projects", "p": [{"n": "alpha"}], "ip": "192.0.2.0/24"},
        {"v": 1, "t": "projects", "p": [{"n": "alpha", "org": "acme"}]},
        {"v": 1, "t": "expiry", "nbf": 0, "exp": None, "uses": 1},
        {"v": True, "t": "projects", "p": [{"n": "alpha"}]},
        {"v": 2, "t": "projects", "p": [{"n": "alpha"}]},
        {"t": "projects", "p": [{"n": "alpha"}]},
    ],
)
def test_a_caveat_the_server_does_not_understand_refuses_the_token(client, user, caveat):
    raw = _append(_token(user), json.dumps(caveat))
    with pytest.raises(services.TokenError, match="malformed"):
        services.verify_token(raw, upload_context(None, "alpha"))
    assert _upload(client, raw, "alpha").status_code == 403


# --- one spelling per token -------------------------------------------------------------


def _variants(raw):
    body = raw.removeprefix(PREFIX)
    alphabet = string.ascii_letters + string.digits + "-_"
    for char in alphabet:
        if char != body[-1]:
            yield "last character " + char, PREFIX + body[:-1] + char
    yield "padding =", raw + "="
    yield "padding ==", raw + "=="
    yield "standard alphabet", raw.replace("-", "+").replace("_", "/")
    yield "trailing A", raw + "A"
    yield "trailing AAAA", raw + "AAAA"


def test_only_the_spelling_the_server_wrote_verifies(user):
    raw = _token(user)
    context = upload_context(None, "alpha")
    services.verify_token(raw, context)
    accepted = []
    for label, variant in _variants(raw):
        if variant == raw:
            continue
        try:
            services.verify_token(variant, context)
        except services.TokenError:
            continue
        accepted.append(label)
    assert accepted == []


def test_a_token_whose_packets_repeat_is_refused(user):
    raw = _token(user)
    macaroon = Macaroon.deserialize(raw.removeprefix(PREFIX))
    packed = BinarySerializer().serialize_raw(macaroon)
    signature_packet = packed[-47:]  # 4 hex length + "signature " + 32 bytes + "\n"
    assert signature_packet.startswith(b"002fsignature ")
    packed += signature_packet
    forged = PREFIX + base64.urlsafe_b64encode(packed).decode().rstrip("=")
    with pytest.raises(services.TokenError, match="canonical"):
        services.verify_token(forged, upload_context(None, "alpha"))


# --- hostile values (issue 21 item 8) ---------------------------------------------------


@pytest.mark.parametrize(
    "caveat",
    [
        {"v": 1, "t": "expiry", "nbf": 0, "exp": -(10**20)},
        {"v": 1, "t": "expiry", "nbf": 0, "exp": -(2**63)},
        {"v": 1, "t": "expiry", "nbf": 0, "exp": -1},
        {"v": 1, "t": "expiry", "nbf": 10**30, "exp": None},
        {"v": 1, "t": "expiry", "nbf": 0, "exp": 10**30},
    ],
)
def test_absurd_timestamps_in_an_appended_caveat_get_a_403(client, user, caveat):
    raw = _append(_token(user), json.dumps(caveat))
    response = _upload(client, raw)
    assert response.status_code == 403
    assert "API token" in response.content.decode()


def test_a_holder_may_still_shorten_the_expiry(client, user):
    now = int(timezone.now().timestamp())
    raw = _append(_token(user), json.dumps({"v": 1, "t": "expiry", "nbf": 0, "exp": now - 60}))
    response = _upload(client, raw)
    assert response.status_code == 403
    assert "expired on" in response.content.decode()


@pytest.mark.parametrize("token_id", ["not-a-uuid", "1", "x" * 5000, "' OR 1=1 --", "\x00"])
def test_revoking_a_token_id_that_is_not_a_uuid_is_a_clear_refusal(signed_in, user, token_id):
    _token(user)
    response = signed_in.post("/manage/account/tokens/revoke/", {"token_id": token_id}, follow=True)
    assert response.status_code == 200
    assert "does not exist or was already revoked" in response.content.decode()
    assert user.api_tokens.count() == 1


# --- fuzzing ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
caveat_like = st.fixed_dictionaries(
    {},
    optional={
        "v": st.sampled_from([1, 1.0, True, 2, "1"]) | json_values,
        "t": st.sampled_from(["expiry", "projects", "user", "ip"]) | json_values,
        "nbf": st.integers() | json_values,
        "exp": st.integers() | st.none() | json_values,
        "p": st.lists(st.dictionaries(st.sampled_from(["n", "id", "x"]), json_values))
        | json_values,
        "id": json_values,
    },
)
appended = st.lists(
    st.one_of(
        caveat_like.map(json.dumps),
        json_values.map(json.dumps),
        st.text(max_size=60),
        st.just("[" * 5000),
    ),
    min_size=1,
    max_size=3,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(caveats=appended)
def test_verify_token_raises_only_token_error_for_appended_caveats(user, caveats):
    raw = _append(_real(user), *caveats)
    with contextlib.suppress(services.TokenError):
        services.verify_token(raw, upload_context(None, "alpha"))


_RAW: dict[str, str] = {}


def _real(user):
    """A real token of ``user``, minted once per test rather than once per example."""
    raw = _RAW.get("raw")
    try:
        if raw is not None and services.identify_token(raw).user == user:
            return raw
    except services.TokenError:
        pass
    _RAW["raw"] = _token(user, name=f"fuzz-{user.api_tokens.count()}")
    return _RAW["raw"]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=300), cut=st.integers(min_value=0, max_value=400))
def test_verify_token_raises_only_token_error_for_random_bytes(user, body, cut):
    real = _real(user)
    encoded = base64.urlsafe_b64encode(body).decode().rstrip("=")
    real_body = real.removeprefix(PREFIX)
    at = cut % (len(real_body) + 1)
    for candidate in (
        PREFIX + encoded,
        PREFIX + real_body[:at] + encoded,
        PREFIX + real_body[:at] + body.decode("latin-1"),
    ):
        with contextlib.suppress(services.TokenError):
            services.verify_token(candidate, upload_context(None, "alpha"))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(caveats=appended)
def test_legacy_never_answers_500_for_appended_caveats(client, user, caveats):
    real = _real(user)
    response = _upload(client, _append(real, *caveats))
    assert response.status_code in (200, 400, 403), response.status_code


@settings(max_examples=500, deadline=None)
@given(raw=st.one_of(st.binary(max_size=200), st.text(max_size=200), caveat_like.map(json.dumps)))
def test_the_caveat_parser_refuses_only_with_malformed_caveat(raw):
    from strongroom.tokens.caveats import MalformedCaveat, parse_caveat

    with contextlib.suppress(MalformedCaveat):
        parse_caveat(raw)


def test_an_expired_token_is_refused_before_the_upload_body_is_read(user):
    now = int(timezone.now().timestamp())
    raw = _append(_token(user), json.dumps({"v": 1, "t": "expiry", "nbf": 0, "exp": now - 1}))
    with pytest.raises(services.TokenError, match="expired on"):
        services.identify_token(raw)

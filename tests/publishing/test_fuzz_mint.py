"""Whatever a client posts to the mint endpoint, the answer is a sentence, never a 500."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.publishing.models import MintedToken
from tests.fuzzing import FUZZ, any_text
from tests.publishing.conftest import mint

pytestmark = pytest.mark.django_db


def _b64(data: object) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=8,
)
headers = st.fixed_dictionaries(
    {"alg": st.sampled_from(["RS256", "none", "HS256", "ES256", "x"]), "kid": json_values}
)
claims = st.dictionaries(
    st.sampled_from(["iss", "aud", "exp", "iat", "nbf", "jti", "sub", "repository"]),
    json_values,
)


@FUZZ
@given(token=st.one_of(any_text, st.builds(lambda h, c, s: f"{_b64(h)}.{_b64(c)}.{s}",
                                           headers, claims, any_text)))  # fmt: skip
def test_hostile_tokens_are_refused_with_a_sentence(client, publisher, token):
    response = mint(client, token)
    assert response.status_code in {413, 422, 503}, response.content
    assert response.json()["detail"]
    assert not MintedToken.objects.exists()


@FUZZ
@given(body=json_values)
def test_hostile_bodies_are_refused_with_a_sentence(client, publisher, body):
    response = client.post(
        "/_/oidc/mint-token", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["detail"]

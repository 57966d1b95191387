"""A refusal carries its sentence in the reason phrase, as the body's first line, and as
the title of PyPI's error-page shape (what maturin prints)."""

from __future__ import annotations

import pytest

from strongroom.upload.errors import UploadError
from strongroom.upload.views import error_response
from tests.distributions import basic_auth, upload_form

pytestmark = pytest.mark.django_db


def test_a_refusal_answers_in_all_three_shapes(client, user):
    response = client.post(
        "/legacy/", upload_form(), HTTP_AUTHORIZATION=basic_auth("__token__", "not-a-token")
    )
    assert response.status_code == 403
    sentence = response.reason_phrase
    assert sentence and sentence != "Forbidden"
    body = response.content.decode()
    assert body.splitlines()[0] == sentence
    assert f"<title>403 {sentence}</title>" in body  # quotes stay as they are
    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_markup_in_a_sentence_is_escaped_in_the_page():
    response = error_response(UploadError('Bad name "<script>x</script>".', 400))
    body = response.content.decode()
    assert body.startswith('Bad name "<script>x</script>".\n')
    assert '<title>400 Bad name "&lt;script&gt;x&lt;/script&gt;".</title>' in body
    assert body.count("<script>") == 1  # only in the plain first line

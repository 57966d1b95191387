"""Issue 2, item 1: the custom user model and the username rules."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from strongroom.accounts.models import Email, User
from strongroom.accounts.usernames import validate_username
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-unusual-pass-97"


def _register(client, username, email="new@example.org", password=NEW_PASSWORD):
    return client.post(
        "/account/register/",
        {
            "username": username,
            "email": email,
            "new_password": password,
            "confirm_password": password,
        },
    )


def test_the_user_model_is_ours_with_a_uuid_primary_key():
    assert get_user_model() is User
    user = UserFactory()
    assert isinstance(user.pk, uuid.UUID)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("alice", "alice"),
        ("Alice.Smith-2_x", "Alice.Smith-2_x"),
        ("ａｌｉｃｅ", "alice"),  # full-width Latin folds to ASCII under NFKC  # noqa: RUF001
        ("  bob  ", "bob"),
    ],
)
def test_usernames_are_nfkc_normalised(raw, expected):
    assert validate_username(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "\u0430lice",  # Cyrillic a: a confusable of "alice"
        "al\u0456ce",  # Cyrillic i
        "ali\u200bce",  # zero-width space
        "ali\u200dce",  # zero-width joiner
        "\u202ealice",  # right-to-left override
        "ali\u00adce",  # soft hyphen
        "ali\x00ce",  # NUL
        "ali\x07ce",  # bell
        "ali ce",
        "ali\u3000ce",  # ideographic space
        "-alice",
        "alice.",
        "a" * 51,
        "",
    ],
)
def test_confusable_invisible_and_malformed_usernames_are_refused(raw):
    with pytest.raises(ValidationError):
        validate_username(raw)


@pytest.mark.parametrize(
    "raw", ["\u0430lice", "ali\u200bce", "ali\u202ece", "a" * 60, "ali\x00ce", "x y"]
)
def test_registration_form_refuses_bad_usernames_with_a_message(client, raw):
    response = _register(client, raw)
    assert response.status_code == 400
    assert b'class="error"' in response.content
    assert not User.objects.exists()


def test_fullwidth_copy_of_an_existing_name_is_a_duplicate(client):
    UserFactory(username="alice")
    response = _register(client, "ａｌｉｃｅ")  # noqa: RUF001
    assert response.status_code == 400
    assert b"This username is already taken." in response.content


@pytest.mark.parametrize("variant", ["ALICE", "Alice", "aLiCe"])
def test_usernames_differing_only_in_case_are_duplicates(client, variant):
    UserFactory(username="alice")
    response = _register(client, variant)
    assert response.status_code == 400
    assert b"This username is already taken." in response.content
    assert User.objects.count() == 1


def test_emails_differing_only_in_case_are_duplicates(client):
    UserFactory(username="alice", email="alice@example.org")
    response = _register(client, "alice2", email="ALICE@Example.ORG")
    assert response.status_code == 400
    assert b"This email address is already in use." in response.content


def test_the_database_itself_refuses_case_duplicates():
    UserFactory(username="alice", email="alice@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("ALICE", PASSWORD)
    other = UserFactory(username="bob")
    with pytest.raises(IntegrityError), transaction.atomic():
        Email.objects.create(user=other, email="Alice@EXAMPLE.org")


def test_the_model_validates_usernames_for_every_path_including_the_admin():
    user = User(username="\u0430lice")
    with pytest.raises(ValidationError) as excinfo:
        user.full_clean()
    assert "username" in excinfo.value.message_dict

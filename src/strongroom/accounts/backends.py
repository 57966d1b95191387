"""Authenticate with a username or any verified email address."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from strongroom.accounts.models import User
from strongroom.accounts.usernames import normalize_username


def find_user_by_login(login: str) -> User | None:
    """The user a login name refers to: a username, or a verified email address."""
    login = normalize_username(login or "")
    if not login or len(login) > 254:
        return None
    if "@" in login:
        return User.objects.filter(emails__email__iexact=login, emails__verified=True).first()
    return User.objects.filter(username__iexact=login).first()


class UsernameOrEmailBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None or password is None:
            return None
        user = find_user_by_login(username)
        if user is None:
            # Spend the same time as a real check so timing does not reveal who exists.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

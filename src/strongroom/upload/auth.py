"""Who is uploading: an API token (username ``__token__`` or a Bearer header), or, where
the instance allows it, the account password."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from strongroom.accounts.actors import Actor
from strongroom.accounts.backends import find_user_by_login
from strongroom.accounts.models import User
from strongroom.accounts.services import AccountError, authenticate_password
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.mfa.services.queries import has_second_factor
from strongroom.ops import metrics
from strongroom.packages.models import Project
from strongroom.publishing.minting import (
    PublisherCredential,
    PublisherTokenError,
    check_publisher_upload,
    identify_publisher_token,
    is_publisher_token,
)
from strongroom.publishing.services import requires_trusted_publishing
from strongroom.tokens.contexts import upload_context
from strongroom.tokens.services import (
    PresentedToken,
    TokenError,
    identify_token,
    verify_token,
)
from strongroom.upload.errors import UploadError, forbidden
from strongroom.web.actor import actor_from
from strongroom.web.http import absolute_url, client_ip, user_agent

TOKEN_USERNAME = "__token__"  # noqa: S105 - the username that announces a token


@dataclass(frozen=True)
class Uploader:
    """The authenticated uploader: an account (an actor with a user) and the token they
    used (None for a password), or a trusted publisher (``publisher``; no user).

    A token here only says who holds it; :func:`check_token_scope` verifies it against the
    project once the upload names one.
    """

    actor: Actor
    token: PresentedToken | None = None
    publisher: PublisherCredential | None = None

    @property
    def user(self) -> User:
        assert self.actor.user is not None, "only an account upload has a user"
        return self.actor.user

    def describe(self) -> dict[str, Any]:
        if self.publisher is not None:
            return self.publisher.describe()
        if self.token is None:
            return {"method": "password"}
        return {
            "method": "api_token",
            "token_id": str(self.token.token.pk),
            "token_name": self.token.token.name,
        }


def basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    """The (username, password) of an HTTP Basic Authorization header, if any."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def bearer_token(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def record_refusal(
    request: HttpRequest, error: UploadError, uploader: Uploader | None, project: str | None
) -> None:
    """Record a refused upload: which account or token, and why (never the secret).

    Valid credentials make their holder the actor ("By: alice", the token named); a token
    that failed verification or a refused password only names the account concerned.
    """
    metrics.upload_refused(error.status)
    extra: dict[str, Any] = {"reason": error.message, "status": error.status}
    uploader = uploader or error.uploader
    user = error.user
    actor: Actor | User | None = None
    if uploader is not None and uploader.publisher is not None:
        extra.update(uploader.describe())
        actor = uploader.actor  # a publisher: no account, the publisher named in extra
    elif uploader is not None:
        user = actor = uploader.user
        extra.update(uploader.describe())
    elif error.token_id:
        extra.update({"method": "api_token", "token_id": error.token_id})
        if error.token_name:
            extra["token_name"] = error.token_name
    if project:
        extra["project"] = project
    with transaction.atomic():
        record_event(
            EventTag.ACCOUNT_UPLOAD_REFUSED, request=request, actor=actor, user=user, extra=extra
        )


def _publisher_uploader(request: HttpRequest, raw: str) -> Uploader:
    try:
        credential = identify_publisher_token(raw)
    except PublisherTokenError as exc:
        raise forbidden(str(exc)) from None
    actor = Actor(ip=client_ip(request), user_agent=user_agent(request))
    return Uploader(actor=actor, publisher=credential)


def _token_uploader(request: HttpRequest, raw: str) -> Uploader:
    if is_publisher_token(raw):
        return _publisher_uploader(request, raw)
    try:
        presented = identify_token(raw)
    except TokenError as exc:
        raise _token_refusal(exc) from None
    return Uploader(actor=actor_from(request, presented.user), token=presented)


def _token_refusal(exc: TokenError) -> UploadError:
    token = exc.token
    return forbidden(
        str(exc),
        user=token.user if token is not None else None,
        token_id=str(token.pk) if token is not None else None,
        token_name=token.name if token is not None else None,
    )


def _password_uploader(request: HttpRequest, username: str, password: str) -> Uploader:
    token_help = absolute_url("/manage/account/token/")
    if settings.UPLOAD_PASSWORDS == "never":
        # Refused before the password is checked: the answer is the same either way,
        # so this endpoint is no oracle for guessing passwords.
        raise forbidden(
            _(
                "Uploading with a password is not allowed. Use an API token "
                "(username __token__); create one at %(url)s"
            )
            % {"url": token_help},
            user=find_user_by_login(username),
        )
    try:
        user = authenticate_password(request, username, password)
    except AccountError as exc:
        raise forbidden(
            _("Invalid or non-existent authentication information. %(reason)s")
            % {"reason": str(exc)}
        ) from None
    if settings.UPLOAD_PASSWORDS == "without-2fa" and has_second_factor(user):
        raise forbidden(
            _(
                "User %(username)s has two-factor authentication enabled: use an API token "
                "(username __token__) to upload; create one at %(url)s"
            )
            % {"username": user.username, "url": token_help},
            user=user,
        )
    return Uploader(actor=actor_from(request, user))


def authenticate_upload(request: HttpRequest) -> Uploader:
    """Return the uploader, or raise a 403 UploadError saying exactly why."""
    raw = bearer_token(request)
    if raw is not None:
        uploader = _token_uploader(request, raw)
    else:
        credentials = basic_credentials(request)
        if credentials is None:
            raise forbidden(_("Invalid or non-existent authentication information."))
        username, password = credentials
        if username == TOKEN_USERNAME:
            uploader = _token_uploader(request, password)
        else:
            uploader = _password_uploader(request, username, password)
    if uploader.publisher is None and not uploader.user.has_verified_primary_email:
        raise UploadError(
            _("User %(username)s does not have a verified primary email address.")
            % {"username": uploader.user.username},
            user=uploader.user,
            uploader=uploader,
        )
    return uploader


def check_token_scope(uploader: Uploader, project: Project | None, name: str) -> None:
    """Verify the uploader's token for uploading to this project: every caveat, its scope
    included (a new project: account-wide tokens only). A publisher token: its caveats and
    the publisher's binding to the project (or pending name)."""
    if uploader.publisher is not None:
        try:
            check_publisher_upload(uploader.publisher, project, name)
        except PublisherTokenError as exc:
            raise forbidden(str(exc)) from None
        return
    if requires_trusted_publishing(project):
        assert project is not None
        raise forbidden(
            _(
                "Project %(project)s requires trusted publishing: API tokens and passwords "
                "are refused. Publish from the CI workflow configured as its trusted "
                "publisher (see %(url)s)."
            )
            % {"project": project.name, "url": absolute_url("/help/trusted-publishing/")}
        )
    if uploader.token is None:
        return
    try:
        verify_token(uploader.token.raw, upload_context(project, name), ip=uploader.actor.ip)
    except TokenError as exc:
        raise _token_refusal(exc) from None

"""Users, their email addresses and their login sessions."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from strongroom.accounts.usernames import username_validator


class UserManager(BaseUserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(username__iexact=username)

    def create_user(self, username: str, password: str | None = None, **fields: object) -> User:
        user = self.model(username=self.model.normalize_username(username), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, username: str, password: str | None = None, **fields: object):
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(username, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    username = models.CharField(max_length=50, unique=True, validators=[username_validator])
    name = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # IANA name; times on the history pages are shown in it (see web.middleware).
    time_zone = models.CharField(max_length=64, default="UTC")

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = UserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def primary_email(self) -> Email | None:
        return self.emails.filter(primary=True).first()

    @property
    def email(self) -> str:
        primary = self.primary_email
        return primary.email if primary else ""

    @property
    def has_verified_primary_email(self) -> bool:
        return self.emails.filter(primary=True, verified=True).exists()


class Email(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="emails")
    email = models.EmailField(max_length=254)
    primary = models.BooleanField(default=False)
    verified = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    # Part of the signed verification link; replaced on use or resend, so a link dies
    # once it has worked or a newer one has been sent.
    verification_nonce = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-primary", "created"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_email_ci_unique"),
            models.UniqueConstraint(
                fields=["user"], condition=Q(primary=True), name="accounts_email_one_primary"
            ),
        ]

    def __str__(self) -> str:
        return self.email


class SessionRecord(models.Model):
    """One signed-in browser. Deleting the row ends that session on its next request."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="session_records")
    created = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.ip}"

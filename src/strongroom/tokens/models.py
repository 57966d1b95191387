"""API tokens as the server keeps them: never enough to rebuild the token itself."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    # The caveats the server attached when minting, applied again at every verification
    # so that a token can only ever be narrowed, never widened.
    caveats = models.JSONField(default=list)
    # The projects a scoped token may upload to; empty for an account-wide token.
    projects = models.ManyToManyField("packages.Project", related_name="api_tokens", blank=True)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="unique_token_name_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    @property
    def is_read(self) -> bool:
        """A read token (installs, never uploads); otherwise an upload token."""
        return any(c.get("t") == "permissions" and c.get("p") == ["read"] for c in self.caveats)

    @property
    def is_account_wide(self) -> bool:
        return not any(c.get("t") in {"projects", "org"} for c in self.caveats)

    @property
    def organization_scope(self) -> str | None:
        """The organisation a token is scoped to (its normalised name), or None."""
        return next((c.get("n") for c in self.caveats if c.get("t") == "org"), None)

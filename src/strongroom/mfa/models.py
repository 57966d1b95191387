"""Second factors: one authenticator app, any number of security keys and passkeys,
and single-use recovery codes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

LABEL_MAX_LENGTH = 64


class TOTPDevice(models.Model):
    """The account's authenticator app. Active only once ``confirmed``."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device"
    )
    # Fernet-encrypted base32 secret (see secrets_box).
    secret = models.TextField()
    confirmed = models.BooleanField(default=False)
    created = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True)
    # The last accepted time step: that step and older ones are refused from then on.
    last_used_step = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"TOTP for {self.user_id}"

    @property
    def label(self) -> str:
        return str(_("Authenticator app"))


class SecurityKey(models.Model):
    """A WebAuthn credential: a hardware key, or a phone or laptop (passkey or not)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="security_keys"
    )
    label = models.CharField(max_length=LABEL_MAX_LENGTH)
    credential_id = models.CharField(max_length=1400, unique=True)
    public_key = models.TextField()
    sign_count = models.BigIntegerField(default=0)
    # Registered as a discoverable credential with user verification: signs in alone.
    is_passkey = models.BooleanField(default=False)
    backed_up = models.BooleanField(default=False)
    transports = models.JSONField(default=list, blank=True)
    created = models.DateTimeField(default=timezone.now)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created"]
        constraints = [
            models.UniqueConstraint("user", Lower("label"), name="mfa_securitykey_label_unique"),
        ]

    def __str__(self) -> str:
        return self.label


class RecoveryCode(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(max_length=128)
    created = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return f"recovery code {self.pk}"

"""What the console keeps: why an account is suspended, and account recovery requests."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Suspension(models.Model):
    """An account staff suspended. While the row exists the account is inactive
    (``is_active`` False): login, API tokens and uploads all refuse it there, once."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="suspension"
    )
    reason = models.CharField(max_length=500)
    suspended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"suspension of {self.user_id}"


class RecoveryRequest(models.Model):
    """A user who lost every second factor asks staff to remove them (console.recovery)."""

    class Status(models.TextChoices):
        UNCONFIRMED = "unconfirmed", _("Waiting for the email confirmation")
        CONFIRMED = "confirmed", _("Confirmed, waiting for staff")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Refused")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    OPEN = (Status.UNCONFIRMED, Status.CONFIRMED)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_requests"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNCONFIRMED)
    created = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_from = models.EmailField(max_length=254, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    # Part of the signed confirmation link: replaced when it is used, so it works once.
    confirm_nonce = models.CharField(max_length=64)
    # Part of the signed cancel link sent to every verified address.
    cancel_nonce = models.CharField(max_length=64)
    # Approved, and the user has not set up a new second factor yet.
    awaiting_new_factor = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(status__in=["unconfirmed", "confirmed"]),
                name="console_one_open_recovery_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"recovery {self.pk} of {self.user_id} ({self.status})"

"""Forms for the second-factor pages: every field labelled, nothing decided here."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from strongroom.mfa import totp
from strongroom.mfa.models import LABEL_MAX_LENGTH


class TotpCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                # The one thing to do on the page: the cursor is in the field on load.
                "autofocus": True,
                "inputmode": "numeric",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
    )

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"]
        if not totp.well_formed(code):
            raise forms.ValidationError(
                _("Enter the %(digits)d digits (0 to 9) your authenticator app shows."),
                code="malformed",
                params={"digits": totp.DIGITS},
            )
        return totp.normalize_code(code)


class RecoveryCodeForm(forms.Form):
    recovery_code = forms.CharField(
        label=_("Recovery code"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )


class SecurityKeyForm(forms.Form):
    label = forms.CharField(
        label=_("Name for this key"),
        max_length=LABEL_MAX_LENGTH,
        help_text=_("For example “Blue USB key” or “Work laptop”. At most 64 characters."),
    )
    passkey = forms.BooleanField(
        label=_("Use it as a passkey: sign in with it alone, without a password"),
        required=False,
        help_text=_(
            "Your device will ask for your fingerprint, face or PIN each time. "
            "Leave unticked for a key that only confirms your password."
        ),
    )
    credential = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100_000)


class CredentialForm(forms.Form):
    credential = forms.CharField(widget=forms.HiddenInput, max_length=100_000)


class RemoveSecurityKeyForm(forms.Form):
    key_id = forms.IntegerField(widget=forms.HiddenInput)
    confirm_label = forms.CharField(
        label=_("Type the key's name to confirm"), max_length=LABEL_MAX_LENGTH
    )

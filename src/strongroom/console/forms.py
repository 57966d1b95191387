"""The console's forms: every field labelled, each action asks for the second factor."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from strongroom.mfa.forms import TotpCodeForm


class ConfirmedActionForm(TotpCodeForm):
    """An action confirmed with a code from the staff member's authenticator app or, with
    ``by_key`` (staff whose factor is a security key: reauth.confirms_with_key), with the
    key's answer in a hidden field that webauthn.js fills."""

    def __init__(self, *args: Any, by_key: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.by_key = by_key
        if by_key:
            del self.fields["code"]
            self.fields["credential"] = forms.CharField(
                widget=forms.HiddenInput(attrs={"data-webauthn-credential": ""}),
                max_length=100_000,
                error_messages={
                    "required": _(
                        "Your browser did not send your security key's answer. Confirming "
                        "with a security key needs JavaScript."
                    )
                },
            )


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=254, required=False)


class SuspendForm(ConfirmedActionForm):
    reason = forms.CharField(
        label=_("Reason (the user is told)"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    field_order = ["reason", "code"]


class UploadLimitForm(ConfirmedActionForm):
    limit_mib = forms.IntegerField(
        label=_("Largest file, in MiB (empty: the site default)"),
        required=False,
        min_value=1,
        max_value=10 * 1024,
    )
    field_order = ["limit_mib", "code"]

    def limit_bytes(self) -> int | None:
        value = self.cleaned_data.get("limit_mib")
        return None if value is None else int(value) * 1024 * 1024


class TotalSizeLimitForm(ConfirmedActionForm):
    limit_gib = forms.IntegerField(
        label=_("All files together, in GiB (empty: the site default)"),
        required=False,
        min_value=1,
        max_value=10 * 1024,
    )
    field_order = ["limit_gib", "code"]

    def limit_bytes(self) -> int | None:
        value = self.cleaned_data.get("limit_gib")
        return None if value is None else int(value) * 1024**3


class RemoveProjectForm(ConfirmedActionForm):
    confirm_name = forms.CharField(label=_("Type the project's name to confirm"), max_length=200)
    field_order = ["confirm_name", "code"]


class DecisionForm(ConfirmedActionForm):
    note = forms.CharField(
        label=_("Note (the user is told when the request is refused)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    field_order = ["note", "code"]

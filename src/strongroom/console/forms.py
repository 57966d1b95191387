"""The console's forms: every field labelled, each action asks for a fresh code."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from strongroom.mfa.forms import TotpCodeForm


class ConfirmedActionForm(TotpCodeForm):
    """An action confirmed with a code from the staff member's authenticator app."""


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

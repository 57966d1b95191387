"""Forms for owners' actions: each asks the owner to type a name to confirm."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from strongroom.console.forms import ConfirmedActionForm


class ConfirmForm(forms.Form):
    confirm = forms.CharField(max_length=255, strip=True)

    def __init__(self, *args: Any, expected: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.expected = expected
        self.fields["confirm"].label = _("Type %(expected)s to confirm") % {"expected": expected}

    def clean_confirm(self) -> str:
        value: str = self.cleaned_data["confirm"]
        if value != self.expected:
            raise forms.ValidationError(
                _("That does not match %(expected)s.") % {"expected": self.expected}
            )
        return value


class YankForm(ConfirmForm):
    reason = forms.CharField(
        label=gettext_lazy("Reason (shown to installers)"),
        max_length=500,
        required=False,
        widget=forms.TextInput,
    )
    field_order = ["reason", "confirm"]


class InviteForm(forms.Form):
    identifier = forms.CharField(
        label=gettext_lazy("Username or email address"), max_length=254, strip=True
    )
    role = forms.ChoiceField(
        label=gettext_lazy("Role"),
        choices=[
            ("Maintainer", gettext_lazy("Maintainer: can upload releases")),
            ("Owner", gettext_lazy("Owner: can do everything, including managing collaborators")),
        ],
        initial="Maintainer",
    )


class StatusReasonForm(forms.Form):
    """A status change with a reason shown on the project page and to installers."""

    reason = forms.CharField(
        label=gettext_lazy("Reason (shown on the project page and to installers)"),
        max_length=500,
        required=False,
        widget=forms.TextInput,
    )


class ArchiveForm(ConfirmForm, StatusReasonForm):
    field_order = ["reason", "confirm"]


class ReportForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("What is wrong with this project?"),
        help_text=gettext_lazy("Malware, typosquatting, spam or abuse: only staff read it."),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class ResolveForm(ConfirmedActionForm):
    """Staff resolve a report, confirmed with their second factor (console.forms)."""

    note = forms.CharField(
        label=gettext_lazy("Resolution note"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    field_order = ["note", "code"]


class QuarantineForm(ConfirmedActionForm):
    reason = forms.CharField(
        label=gettext_lazy("Reason for the quarantine (shown on the project page)"),
        max_length=500,
        widget=forms.TextInput,
    )
    field_order = ["reason", "code"]


class StaffStatusForm(ConfirmedActionForm):
    """A status change by staff (quarantine, release, deprecate), with the reason shown on
    the project page and to installers, confirmed with their second factor."""

    reason = forms.CharField(
        label=gettext_lazy("Reason (shown on the project page and to installers)"),
        max_length=500,
        required=False,
        widget=forms.TextInput,
    )
    field_order = ["reason", "code"]

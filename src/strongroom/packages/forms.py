"""Forms for owners' actions: each asks the owner to type a name to confirm."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


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

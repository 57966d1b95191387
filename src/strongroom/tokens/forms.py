from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from strongroom.orgs.models import Organization
from strongroom.packages.models import Project
from strongroom.tokens.services import MAX_NAME_LENGTH

EXPIRY_CHOICES = [
    ("30", _("In 30 days")),
    ("90", _("In 90 days")),
    ("365", _("In a year")),
    ("date", _("On a date")),
    ("none", _("Never")),
]


class CreateTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=MAX_NAME_LENGTH,
        help_text=_("What the token is for, such as the CI job that uses it."),
    )
    permission = forms.ChoiceField(
        label=_("Permission"),
        widget=forms.RadioSelect,
        choices=[
            ("upload", _("Upload (twine and other publishing tools)")),
            ("read", _("Read (pip, uv, poetry: install private projects; never uploads)")),
        ],
        initial="upload",
        required=False,  # left out: an upload token, as before read tokens existed
    )
    scope = forms.ChoiceField(
        label=_("Scope"),
        widget=forms.RadioSelect,
        choices=[("projects", _("Selected projects")), ("account", _("Entire account"))],
    )
    projects = forms.MultipleChoiceField(
        label=_("Projects"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The token can upload to (or read) these projects only."),
    )
    organization = forms.ChoiceField(
        label=_("Organisation"),
        required=False,
        help_text=_(
            "Optional: the token works only for the projects this organisation owns, and "
            "only while you are one of its members."
        ),
    )
    expiry = forms.ChoiceField(label=_("Expires"), choices=EXPIRY_CHOICES, initial="90")
    expiry_date = forms.DateField(
        label=_("Expiry date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Used when “On a date” is chosen."),
    )

    def __init__(
        self,
        projects: list[Project],
        *args: Any,
        organizations: list[Organization] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.fields["projects"].choices = [(p.normalized_name, p.name) for p in projects]  # type: ignore[attr-defined]
        self.fields["organization"].choices = [("", _("Any (no organisation scope)"))] + [  # type: ignore[attr-defined]
            (o.normalized_name, o.name) for o in organizations or []
        ]
        if not organizations:
            del self.fields["organization"]
        # With projects to choose from, the narrow scope is the default (a question the
        # PyPI testers raised): an account-wide token must be a deliberate choice.
        self.fields["scope"].initial = "projects" if projects else "account"
        if len(projects) == 1:
            self.fields["projects"].initial = [projects[0].normalized_name]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("scope") == "projects" and not cleaned.get("projects"):
            self.add_error("projects", _("Choose at least one project, or the entire account."))
        if cleaned.get("expiry") == "date" and not cleaned.get("expiry_date"):
            self.add_error("expiry_date", _("Choose the date the token expires."))
        return cleaned

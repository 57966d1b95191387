"""Forms of the publishing pages: every field labelled, validated again by the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from strongroom.console.forms import ConfirmedActionForm
from strongroom.publishing.models import Issuer


class IssuerForm(ConfirmedActionForm):
    """Staff add an issuer, confirmed with their second factor (console.forms)."""

    url = forms.CharField(label=_("Issuer URL (the iss claim)"), max_length=300)
    kind = forms.ChoiceField(label=_("Kind"), choices=Issuer.Kind.choices)
    audience = forms.CharField(
        label=_("Audience (empty: this index's audience)"), max_length=200, required=False
    )
    field_order = ["url", "kind", "audience", "code"]


def _issuer_choices() -> list[tuple[int, str]]:
    return [
        (issuer.pk, f"{issuer.url} ({issuer.get_kind_display()})")
        for issuer in Issuer.objects.filter(enabled=True)
    ]


class PublisherForm(forms.Form):
    issuer = forms.TypedChoiceField(label=_("Issuer"), coerce=int, choices=())
    repository = forms.CharField(
        label=_("Repository (owner/name), GitLab project path, or Google service account email"),
        max_length=300,
        required=False,
    )
    workflow = forms.CharField(
        label=_("Workflow file name (GitHub, Forgejo) or CI file path (GitLab)"),
        max_length=500,
        required=False,
    )
    environment = forms.CharField(label=_("Environment (optional)"), max_length=200, required=False)
    claims = forms.CharField(
        label=_("Claim policy for a generic issuer: one name=value per line, sub required"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["issuer"].choices = _issuer_choices()  # type: ignore[attr-defined]


class PendingPublisherForm(PublisherForm):
    project_name = forms.CharField(label=_("Name of the project to create"), max_length=200)
    field_order = ["project_name", "issuer", "repository", "workflow", "environment", "claims"]

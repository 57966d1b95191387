"""Forms of the organisation pages: each field labelled, every value checked again by the
service it is passed to."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from strongroom.orgs.models import OrganizationRole
from strongroom.packages.models import Role


class NameForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, strip=True)


class InviteMemberForm(forms.Form):
    identifier = forms.CharField(
        label=_("Username or email address"),
        max_length=254,
        strip=True,
        help_text=_("An address without an account yet works: the invitation waits for it."),
    )
    role = forms.ChoiceField(
        label=_("Role"), choices=OrganizationRole.Name.choices, initial="Member"
    )


class MemberForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150, strip=True)


class TeamRoleForm(forms.Form):
    project = forms.CharField(label=_("Project"), max_length=200, strip=True)
    role = forms.ChoiceField(label=_("Role"), choices=Role.Name.choices, initial="Maintainer")

"""An Owner's attestation page: require attestations, confirm a new signing repository.

Thin: parse, call one service (publishing.provenance), redirect.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _

from strongroom.accounts.actors import NotPermitted
from strongroom.accounts.decorators import reauthentication_required
from strongroom.packages.views import owned_project
from strongroom.publishing import provenance
from strongroom.web.actor import actor_from


@reauthentication_required
def project_attestations(request: HttpRequest, name: str) -> HttpResponse:
    project = owned_project(request, name)
    if request.method == "POST":
        actor = actor_from(request)
        action = request.POST.get("action")
        try:
            if action == "require":
                required = request.POST.get("required") == "on"
                provenance.set_attestations_required(actor, project, required)
                messages.success(request, _("The attestation policy was changed."))
            elif action == "confirm":
                repository = request.POST.get("repository", "")
                provenance.confirm_repository(actor, project, repository)
                messages.success(request, _("The new signing repository was confirmed."))
        except (provenance.AttestationPolicyError, NotPermitted) as exc:
            messages.error(request, str(exc))
        return HttpResponseRedirect(request.path)
    return render(
        request,
        "publishing/attestations.html",
        {
            "project": project,
            "policy": provenance.policy_of(project),
            "repository": provenance.attested_repository(project),
        },
    )

"""Pages for PEP 792 project status and reports.

Owners archive and unarchive from the project's settings; signed-in users report a
project from its page; staff (the staff guard, mfa.staff) see the report queue under the
admin path, resolve reports, quarantine straight from a report, and change a project's
status from its staff page, each action confirmed with their second factor as the
console's are (console.confirmed; the services check it). Owners confirm with their
password. Views parse, call one service, then redirect.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe
from packaging.utils import canonicalize_name

from strongroom.accounts.actors import NotPermitted
from strongroom.accounts.decorators import reauthentication_required
from strongroom.console.confirmed import action_errors, by_key, run_confirmed
from strongroom.console.forms import ConfirmedActionForm
from strongroom.index.access import read_view, readable_project
from strongroom.mfa.staff import staff_required
from strongroom.packages import lifecycle, reports
from strongroom.packages.forms import (
    ArchiveForm,
    ConfirmForm,
    QuarantineForm,
    ReportForm,
    ResolveForm,
    StaffStatusForm,
)
from strongroom.packages.models import Project, ProjectReport
from strongroom.packages.services import PackageError
from strongroom.packages.views import _project, owned_project
from strongroom.web.actor import actor_from

PAGE_SIZE = 50
Refused = (PackageError, NotPermitted)


def _settings_page(project: Project) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("packages:settings", args=[project.normalized_name]))


# --- Owners ------------------------------------------------------------------------------------


@reauthentication_required
def archive(request: HttpRequest, name: str) -> HttpResponse:
    project = owned_project(request, name)
    archived = project.status == Project.Status.ARCHIVED
    form_class = ConfirmForm if archived else ArchiveForm
    data = request.POST if request.method == "POST" else None
    form = form_class(data, expected=project.name)
    if request.method == "POST" and form.is_valid():
        actor = actor_from(request)
        try:
            if archived:
                lifecycle.unarchive_project(actor, project)
            else:
                lifecycle.archive_project(actor, project, form.cleaned_data.get("reason", ""))
        except Refused as exc:
            form.add_error(None, str(exc))
        else:
            done = _("The project is active again.") if archived else _("The project is archived.")
            messages.success(request, done)
            return _settings_page(project)
    if archived:
        title = _("Unarchive %(project)s") % {"project": project.name}
        intro = _("The project takes uploads again.")
        submit = _("Unarchive the project")
    else:
        title = _("Archive %(project)s") % {"project": project.name}
        intro = _(
            "An archived project takes no new uploads; its releases can still be installed. "
            "You can unarchive it later."
        )
        submit = _("Archive the project")
    context = {"form": form, "title": title, "intro": intro, "submit_label": submit}
    status = 400 if request.method == "POST" else 200
    return render(request, "packages/confirm.html", context, status=status)


# --- Reports from users ------------------------------------------------------------------------


@login_required
@read_view
def report(request: HttpRequest, name: str) -> HttpResponse:
    # Only a project the reader may read can be reported: a private one answers as unknown.
    project = readable_project(request, canonicalize_name(name))
    form = ReportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            reports.report_project(actor_from(request), project, form.cleaned_data["reason"])
        except Refused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Thank you: the report was sent to the index's staff."))
            return HttpResponseRedirect(reverse("packages:project", args=[project.normalized_name]))
    context = {
        "form": form,
        "title": _("Report %(project)s") % {"project": project.name},
        "intro": _("Tell the index's staff why this project should be looked at."),
        "submit_label": _("Send the report"),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "packages/confirm.html", context, status=status)


# --- Staff -------------------------------------------------------------------------------------


@staff_required
def report_queue(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", ProjectReport.State.OPEN)
    if state not in ProjectReport.State.values:
        state = ProjectReport.State.OPEN
    rows = ProjectReport.objects.filter(state=state).select_related(
        "project", "reporter", "resolved_by"
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "packages/report_queue.html",
        {"page": page, "state": state, "states": ProjectReport.State.choices},
    )


def _report_page(
    request: HttpRequest, item: ProjectReport, bound: ConfirmedActionForm | None = None
) -> HttpResponse:
    others = (
        ProjectReport.objects.filter(project=item.project)
        .exclude(pk=item.pk)
        .select_related("reporter")[:20]
    )
    key = by_key(request)
    forms: dict[str, ConfirmedActionForm] = {
        "resolve": ResolveForm(prefix="resolve", by_key=key),
        "quarantine": QuarantineForm(prefix="quarantine", by_key=key),
    }
    if bound is not None and bound.prefix:
        forms[bound.prefix] = bound
    return render(
        request,
        "packages/report_detail.html",
        {
            "report": item,
            "project": item.project,
            "others": others,
            "forms": forms,
            "by_key": key,
            "action_errors": action_errors(bound),
        },
    )


def _report(report_id: int) -> ProjectReport:
    return get_object_or_404(
        ProjectReport.objects.select_related("project", "reporter", "resolved_by"), pk=report_id
    )


@staff_required
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    return _report_page(request, _report(report_id))


@staff_required
@require_POST
def resolve(request: HttpRequest, report_id: int) -> HttpResponseBase:
    item = _report(report_id)
    return run_confirmed(
        request,
        ResolveForm(request.POST, prefix="resolve", by_key=by_key(request)),
        lambda data: reports.resolve_report(
            actor_from(request), item, data["note"], proof=data["code"]
        ),
        _("The report is resolved."),
        lambda bound: _report_page(request, item, bound),  # type: ignore[arg-type]
        reverse("reports:queue"),
        refused=Refused,
    )


@staff_required
@require_POST
def quarantine_from_report(request: HttpRequest, report_id: int) -> HttpResponseBase:
    item = _report(report_id)
    return run_confirmed(
        request,
        QuarantineForm(request.POST, prefix="quarantine", by_key=by_key(request)),
        lambda data: lifecycle.quarantine_project(
            actor_from(request), item.project, data["reason"], report=item, proof=data["code"]
        ),
        _("%(project)s is quarantined and the report resolved.") % {"project": item.project.name},
        lambda bound: _report_page(request, item, bound),  # type: ignore[arg-type]
        reverse("reports:detail", args=[item.pk]),
        refused=Refused,
    )


# The status changes staff make from a project's status page, each its own confirmed form
# (one button per form: the key ceremony submits the form itself, without a button's value).
_STATUS_CHANGES: dict[str, Callable[..., Project]] = {
    "quarantine": lambda actor, project, reason, proof: lifecycle.quarantine_project(
        actor, project, reason, proof=proof
    ),
    "release": lambda actor, project, reason, proof: lifecycle.release_project(
        actor, project, reason, proof=proof
    ),
    "deprecate": lambda actor, project, reason, proof: lifecycle.deprecate_project(
        actor, project, reason, proof=proof
    ),
    "undeprecate": lambda actor, project, reason, proof: lifecycle.undeprecate_project(
        actor, project, proof=proof
    ),
}
_FORMS: dict[str, type[ConfirmedActionForm]] = {
    "quarantine": StaffStatusForm,
    "release": StaffStatusForm,
    "deprecate": StaffStatusForm,
    "undeprecate": ConfirmedActionForm,
}


def _status_page(
    request: HttpRequest, project: Project, bound: ConfirmedActionForm | None = None
) -> HttpResponse:
    key = by_key(request)
    forms = {name: cls(prefix=name, by_key=key) for name, cls in _FORMS.items()}
    if bound is not None and bound.prefix:
        forms[bound.prefix] = bound
    open_reports = ProjectReport.objects.filter(
        project=project, state=ProjectReport.State.OPEN
    ).count()
    return render(
        request,
        "packages/staff_project_status.html",
        {
            "project": project,
            "forms": forms,
            "by_key": key,
            "action_errors": action_errors(bound),
            "open_reports": open_reports,
        },
    )


@staff_required
@require_safe
def project_status(request: HttpRequest, name: str) -> HttpResponse:
    """A project's status for staff: quarantine, release, deprecate, undeprecate."""
    return _status_page(request, _project(name))


@staff_required
@require_POST
def change_status(request: HttpRequest, name: str, action: str) -> HttpResponseBase:
    if action not in _STATUS_CHANGES:
        raise Http404
    project = _project(name)
    form = _FORMS[action](request.POST, prefix=action, by_key=by_key(request))
    change = _STATUS_CHANGES[action]
    return run_confirmed(
        request,
        form,
        lambda data: change(actor_from(request), project, data.get("reason", ""), data["code"]),
        lambda changed: (
            _("%(project)s is now %(status)s.")
            % {"project": changed.name, "status": changed.get_status_display()}
        ),
        lambda bound: _status_page(request, project, bound),  # type: ignore[arg-type]
        reverse("reports:project_status", args=[project.normalized_name]),
        refused=Refused,
    )

"""Pages for PEP 792 project status and reports.

Owners archive and unarchive from the project's settings; signed-in users report a
project from its page; staff (the staff guard, mfa.staff) see the report queue under the
admin path, resolve reports, quarantine straight from a report, and change a project's
status from its staff page. Views parse, call one service, then redirect.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from packaging.utils import canonicalize_name

from strongroom.accounts.actors import Actor, NotPermitted
from strongroom.accounts.decorators import reauthentication_required
from strongroom.index.access import read_view, readable_project
from strongroom.mfa.staff import staff_required
from strongroom.packages import lifecycle, reports
from strongroom.packages.forms import (
    ArchiveForm,
    ConfirmForm,
    QuarantineForm,
    ReportForm,
    ResolveForm,
    StatusReasonForm,
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
    request: HttpRequest,
    item: ProjectReport,
    resolve_form: ResolveForm | None = None,
    quarantine_form: QuarantineForm | None = None,
    status: int = 200,
) -> HttpResponse:
    others = (
        ProjectReport.objects.filter(project=item.project)
        .exclude(pk=item.pk)
        .select_related("reporter")[:20]
    )
    return render(
        request,
        "packages/report_detail.html",
        {
            "report": item,
            "project": item.project,
            "others": others,
            "resolve_form": resolve_form or ResolveForm(prefix="resolve"),
            "quarantine_form": quarantine_form or QuarantineForm(prefix="quarantine"),
        },
        status=status,
    )


def _report(report_id: int) -> ProjectReport:
    return get_object_or_404(
        ProjectReport.objects.select_related("project", "reporter", "resolved_by"), pk=report_id
    )


@staff_required
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    return _report_page(request, _report(report_id))


@require_POST
@staff_required
@reauthentication_required
def resolve(request: HttpRequest, report_id: int) -> HttpResponse:
    item = _report(report_id)
    form = ResolveForm(request.POST, prefix="resolve")
    if form.is_valid():
        try:
            reports.resolve_report(actor_from(request), item, form.cleaned_data["note"])
        except Refused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The report is resolved."))
            return HttpResponseRedirect(reverse("reports:queue"))
    return _report_page(request, item, resolve_form=form, status=400)


@require_POST
@staff_required
@reauthentication_required
def quarantine_from_report(request: HttpRequest, report_id: int) -> HttpResponse:
    item = _report(report_id)
    form = QuarantineForm(request.POST, prefix="quarantine")
    if form.is_valid():
        try:
            lifecycle.quarantine_project(
                actor_from(request), item.project, form.cleaned_data["reason"], report=item
            )
        except Refused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("%(project)s is quarantined and the report resolved.")
                % {"project": item.project.name},
            )
            return HttpResponseRedirect(reverse("reports:detail", args=[item.pk]))
    return _report_page(request, item, quarantine_form=form, status=400)


_STAFF_ACTIONS: dict[str, Callable[[Actor, Project, str], Project]] = {
    "quarantine": lifecycle.quarantine_project,
    "release": lifecycle.release_project,
    "deprecate": lifecycle.deprecate_project,
}


@staff_required
@reauthentication_required
def project_status(request: HttpRequest, name: str) -> HttpResponse:
    """A project's status for staff: quarantine, release, deprecate, undeprecate."""
    project = _project(name)
    form = StatusReasonForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if form.is_valid() and (action in _STAFF_ACTIONS or action == "undeprecate"):
            actor = actor_from(request)
            try:
                if action == "undeprecate":
                    lifecycle.undeprecate_project(actor, project)
                else:
                    _STAFF_ACTIONS[action](actor, project, form.cleaned_data["reason"])
            except Refused as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    _("%(project)s is now %(status)s.")
                    % {"project": project.name, "status": project.get_status_display()},
                )
                return HttpResponseRedirect(
                    reverse("reports:project_status", args=[project.normalized_name])
                )
        elif form.is_valid():
            form.add_error(None, _("Choose one of the actions below."))
        status = 400
    open_reports = ProjectReport.objects.filter(
        project=project, state=ProjectReport.State.OPEN
    ).count()
    return render(
        request,
        "packages/staff_project_status.html",
        {"project": project, "form": form, "open_reports": open_reports},
        status=status,
    )

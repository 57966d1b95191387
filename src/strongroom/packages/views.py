"""Project pages and owners' actions. Views parse, call one service, then render."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion

from strongroom.accounts.actors import NotPermitted
from strongroom.accounts.decorators import reauthentication_required
from strongroom.accounts.models import User
from strongroom.events.display import rows as event_rows
from strongroom.events.models import Event
from strongroom.events.views import jsonl_response, viewer_of
from strongroom.index.access import read_view, readable_project
from strongroom.mfa.policy import TwoFactorNeeded
from strongroom.mfa.staff import is_verified_staff
from strongroom.packages import permissions, project_page, search, services
from strongroom.packages.forms import ConfirmForm, ReportForm, YankForm
from strongroom.packages.models import File, Project, Release, Role
from strongroom.packages.services import PackageError
from strongroom.packages.versions import canonical_version
from strongroom.proxy import views as proxy_views
from strongroom.storage import get_storage
from strongroom.web.actor import actor_from
from strongroom.web.http import absolute_url


def _project(name: str) -> Project:
    return get_object_or_404(Project, normalized_name=canonicalize_name(name))


def _release(project: Project, version: str) -> Release:
    try:
        canonical = canonical_version(version)
    except InvalidVersion:
        raise Http404 from None
    return get_object_or_404(Release, project=project, canonical_version=canonical)


def owned_project(request: HttpRequest, name: str) -> Project:
    """The project if the signed-in user is an Owner who meets its two-factor requirement
    (permissions.require_role, the guard the services call too).

    404 (not 403) for everyone else: a stranger learns nothing. An Owner without the
    second factor the project requires gets a 403 page saying how to set one up."""
    project = _project(name)
    try:
        permissions.require_role(actor_from(request), project, permissions.OWNER)
    except NotPermitted as exc:
        if exc.two_factor:
            raise TwoFactorNeeded(str(exc)) from None
        raise Http404 from None
    return project


def _files(release: Release) -> list[dict[str, Any]]:
    storage = get_storage()
    # trusted_publication: the publisher that uploaded the file, if one did (publishing app);
    # provenance: its verified PEP 740 attestations, if it has them.
    files = release.files.select_related("trusted_publication", "provenance")
    return [{"file": f, "url": storage.url(f.path)} for f in files]


def _release_page(request: HttpRequest, project: Project, release: Release | None) -> HttpResponse:
    releases = services.sort_releases(project.releases.all())
    role = permissions.role_of(_signed_in(request), project)
    if release is None:
        # PyPI's choice: the newest final release, not a pre-release nor a yanked one.
        release = search.newest_release(project)
    return render(
        request,
        "packages/release.html",
        {
            "project": project,
            "release": release,
            "releases": releases,
            "files": _files(release) if release else [],
            "is_owner": role == Role.Name.OWNER,
            "role": role,
            "index_url": absolute_url("/simple/"),
            "report_form": ReportForm(),
            "login_url": f"{reverse('accounts:login')}?next={request.path}",
            "is_staff": is_verified_staff(request),
            **project_page.page_context(project, release, releases),
        },
    )


@read_view
def project_detail(request: HttpRequest, name: str) -> HttpResponse:
    normalized = canonicalize_name(name)
    if proxy_views.enabled() and not Project.objects.filter(normalized_name=normalized).exists():
        return proxy_views.project_page(request, name)
    project = readable_project(request, normalized)
    if name != project.normalized_name:
        return HttpResponseRedirect(reverse("packages:project", args=[project.normalized_name]))
    return _release_page(request, project, None)


@read_view
def release_detail(request: HttpRequest, name: str, version: str) -> HttpResponse:
    project = readable_project(request, canonicalize_name(name))
    return _release_page(request, project, _release(project, version))


def history(request: HttpRequest, name: str) -> HttpResponse:
    """The project's history, for its Owners only (404 for Maintainers and strangers)."""
    if not request.user.is_authenticated:
        raise Http404
    project = owned_project(request, name)
    since = timezone.now() - timedelta(days=settings.HISTORY_WINDOW_DAYS)
    events = Event.objects.filter(project=project, created__gte=since).select_related("actor")
    return render(
        request,
        "packages/history.html",
        {
            "project": project,
            "rows": event_rows(events[:500], viewer_of(request)),
            "days": settings.HISTORY_WINDOW_DAYS,
        },
    )


def history_export(request: HttpRequest, name: str) -> StreamingHttpResponse:
    if not request.user.is_authenticated:
        raise Http404
    project = owned_project(request, name)
    return jsonl_response(
        Event.objects.filter(project=project),
        f"{project.normalized_name}-history",
        viewer_of(request),
    )


def _confirm_page(
    request: HttpRequest,
    *,
    form: ConfirmForm,
    title: str,
    intro: str,
    submit: str,
    action: Callable[[], None],
    done: str,
    redirect_to: str,
) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        try:
            action()
        except (PackageError, NotPermitted) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, done)
            return HttpResponseRedirect(redirect_to)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "title": title, "intro": intro, "submit_label": submit}
    return render(request, "packages/confirm.html", context, status=status)


def _signed_in(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _data(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


@reauthentication_required
def yank(request: HttpRequest, name: str, version: str) -> HttpResponse:
    project = owned_project(request, name)
    release = _release(project, version)
    form = YankForm(_data(request), expected=release.version)

    def act() -> None:
        services.yank_release(actor_from(request), release, form.cleaned_data["reason"])

    return _confirm_page(
        request,
        form=form,
        title=_("Yank %(project)s %(version)s")
        % {"project": project.name, "version": release.version},
        intro=_("Installers will skip a yanked release unless it is pinned exactly."),
        submit=_("Yank release"),
        action=act,
        done=_("The release was yanked."),
        redirect_to=reverse("packages:release", args=[project.normalized_name, release.version]),
    )


@reauthentication_required
def unyank(request: HttpRequest, name: str, version: str) -> HttpResponse:
    project = owned_project(request, name)
    release = _release(project, version)
    form = ConfirmForm(_data(request), expected=release.version)
    return _confirm_page(
        request,
        form=form,
        title=_("Un-yank %(project)s %(version)s")
        % {"project": project.name, "version": release.version},
        intro=_("Installers will consider this release again."),
        submit=_("Un-yank release"),
        action=lambda: services.unyank_release(actor_from(request), release),
        done=_("The release is no longer yanked."),
        redirect_to=reverse("packages:release", args=[project.normalized_name, release.version]),
    )


@reauthentication_required
def delete_release(request: HttpRequest, name: str, version: str) -> HttpResponse:
    project = owned_project(request, name)
    release = _release(project, version)
    form = ConfirmForm(_data(request), expected=release.version)
    return _confirm_page(
        request,
        form=form,
        title=_("Delete %(project)s %(version)s")
        % {"project": project.name, "version": release.version},
        intro=_("Its files are deleted and their filenames can never be uploaded again."),
        submit=_("Delete release"),
        action=lambda: services.remove_release(actor_from(request), release),
        done=_("The release was deleted."),
        redirect_to=reverse("packages:project", args=[project.normalized_name]),
    )


@reauthentication_required
def delete_file(request: HttpRequest, name: str, filename: str) -> HttpResponse:
    project = owned_project(request, name)
    file = get_object_or_404(File, project=project, filename=filename)
    form = ConfirmForm(_data(request), expected=file.filename)
    return _confirm_page(
        request,
        form=form,
        title=_("Delete %(filename)s") % {"filename": file.filename},
        intro=_("This filename can never be uploaded again."),
        submit=_("Delete file"),
        action=lambda: services.remove_file(actor_from(request), file),
        done=_("The file was deleted."),
        redirect_to=reverse(
            "packages:release", args=[project.normalized_name, file.release.version]
        ),
    )


@reauthentication_required
def delete_project(request: HttpRequest, name: str) -> HttpResponse:
    project = owned_project(request, name)
    form = ConfirmForm(_data(request), expected=project.name)
    return _confirm_page(
        request,
        form=form,
        title=_("Delete project %(project)s") % {"project": project.name},
        intro=_("Every release and file is deleted. This cannot be undone."),
        submit=_("Delete project"),
        action=lambda: services.remove_project(actor_from(request), project),
        done=_("The project was deleted."),
        redirect_to=reverse(settings.LOGIN_REDIRECT_URL),
    )

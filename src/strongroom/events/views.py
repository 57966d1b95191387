"""The staff audit page and JSON Lines downloads of history."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from strongroom.events.display import Viewer, rows, sees_client
from strongroom.events.export import stream
from strongroom.events.forms import AuditFilterForm
from strongroom.events.models import Event
from strongroom.mfa.staff import is_verified_staff, staff_required


def viewer_of(request: HttpRequest) -> Viewer:
    """Who reads a history page, for events.display.sees_client."""
    user = request.user
    return Viewer(
        user_id=user.pk if user.is_authenticated else None, is_staff=is_verified_staff(request)
    )


def jsonl_response(events: QuerySet[Event], basename: str, viewer: Viewer) -> StreamingHttpResponse:
    """``events`` as a JSON Lines download for ``viewer``, oldest first, streamed."""
    lines = stream(events, lambda event: sees_client(event, viewer))
    response = StreamingHttpResponse(lines, content_type="application/jsonl")
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="{basename}-{stamp}.jsonl"'
    response["Cache-Control"] = "private, no-store"
    return response


def _filtered(request: HttpRequest) -> tuple[AuditFilterForm, QuerySet[Event]]:
    form = AuditFilterForm(request.GET or None)
    events = Event.objects.all()
    if form.is_bound and form.is_valid():
        events = form.filter(events)
    elif form.is_bound:
        events = Event.objects.none()
    return form, events


@staff_required
def staff_audit(request: HttpRequest) -> HttpResponse:
    """Every event, newest first, filtered by account, project, tag, IP and dates."""
    form, events = _filtered(request)
    page = Paginator(
        events.select_related("actor", "user", "project").order_by("-created", "-id"),
        settings.AUDIT_PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "events/staff_audit.html",
        {
            "form": form,
            "page": page,
            "rows": rows(page.object_list, viewer_of(request)),
            "query": query.urlencode(),
            "show_user": True,
            "show_project": True,
        },
    )


@staff_required
def staff_audit_export(request: HttpRequest) -> StreamingHttpResponse:
    _form, events = _filtered(request)
    return jsonl_response(events, "audit", viewer_of(request))

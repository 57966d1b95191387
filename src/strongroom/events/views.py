"""The staff audit page and JSON Lines downloads of history."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from strongroom.events.display import rows
from strongroom.events.export import stream
from strongroom.events.forms import AuditFilterForm
from strongroom.events.models import Event


def jsonl_response(events: QuerySet[Event], basename: str) -> StreamingHttpResponse:
    """``events`` as a JSON Lines download, oldest first, streamed."""
    response = StreamingHttpResponse(stream(events), content_type="application/jsonl")
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="{basename}-{stamp}.jsonl"'
    response["Cache-Control"] = "private, no-store"
    return response


def _staff_only(request: HttpRequest) -> None:
    # 404, not 403: the page does not announce itself to anyone else.
    if not (request.user.is_authenticated and request.user.is_staff):
        raise Http404


def _filtered(request: HttpRequest) -> tuple[AuditFilterForm, QuerySet[Event]]:
    form = AuditFilterForm(request.GET or None)
    events = Event.objects.all()
    if form.is_bound and form.is_valid():
        events = form.filter(events)
    elif form.is_bound:
        events = Event.objects.none()
    return form, events


def staff_audit(request: HttpRequest) -> HttpResponse:
    """Every event, newest first, filtered by account, project, tag, IP and dates."""
    _staff_only(request)
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
            "rows": rows(page.object_list),
            "query": query.urlencode(),
            "show_user": True,
            "show_project": True,
        },
    )


def staff_audit_export(request: HttpRequest) -> StreamingHttpResponse:
    _staff_only(request)
    _form, events = _filtered(request)
    return jsonl_response(events, "audit")

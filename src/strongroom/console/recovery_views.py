"""The account recovery pages: the user's (from the second login step, and the links in
the emails) and staff's review in the console."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from strongroom.accounts.actors import NotPermitted
from strongroom.console import queries, reauth, recovery
from strongroom.console.access import console_view
from strongroom.console.confirmed import by_key
from strongroom.console.errors import ConsoleError
from strongroom.console.forms import DecisionForm
from strongroom.console.models import RecoveryRequest
from strongroom.events.display import rows as event_rows
from strongroom.events.views import viewer_of
from strongroom.mfa.services import second_step
from strongroom.mfa.services.challenges import relying_party
from strongroom.web.actor import actor_from


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    return response


def start(request: HttpRequest) -> HttpResponseBase:
    """'Lost your second factor?': only between the password and the second step."""
    user = second_step.pending_user(request)
    if user is None:
        messages.info(request, _("Log in with your password first, then ask for recovery."))
        return redirect("accounts:login")
    error = ""
    status = 200
    if request.method == "POST":
        try:
            recovery.request_recovery(actor_from(request), user)
        except ConsoleError as exc:
            error, status = str(exc), 400
        else:
            second_step.cancel_second_step(request)
            return _no_store(render(request, "console/recovery_sent.html"))
    context = {"error": error, "wait_hours": settings.RECOVERY_WAIT_HOURS}
    response = render(request, "console/recovery_start.html", context, status=status)
    return _no_store(response)


def _link_page(
    request: HttpRequest, token: str, action: str, call: object, title: str, button: str
) -> HttpResponse:
    """GET shows a button (mail scanners follow links); POST acts, once."""
    error = ""
    if request.method == "POST":
        try:
            call(actor_from(request), token)  # type: ignore[operator]
        except ConsoleError as exc:
            error = str(exc)
        else:
            return _no_store(render(request, "console/recovery_done.html", {"action": action}))
    context = {"title": title, "button": button, "error": error}
    return _no_store(
        render(request, "console/recovery_link.html", context, status=400 if error else 200)
    )


def confirm(request: HttpRequest, token: str) -> HttpResponse:
    return _link_page(
        request,
        token,
        "confirmed",
        recovery.confirm_recovery,
        _("Confirm your account recovery request"),
        _("Confirm the request"),
    )


def cancel(request: HttpRequest, token: str) -> HttpResponse:
    return _link_page(
        request,
        token,
        "cancelled",
        recovery.cancel_recovery,
        _("Cancel the recovery of your account"),
        _("Cancel the recovery"),
    )


@console_view
def queue(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "console/recoveries.html",
        {"open": queries.open_recoveries(), "closed": queries.closed_recoveries()},
    )


def _review_page(
    request: HttpRequest, item: RecoveryRequest, bound: forms.Form | None = None
) -> HttpResponse:
    key = by_key(request)
    decision = {
        "approve": DecisionForm(prefix="approve", by_key=key),
        "reject": DecisionForm(prefix="reject", by_key=key),
    }
    if bound is not None and bound.prefix:
        decision[bound.prefix] = bound  # type: ignore[assignment]
    context = {
        "item": item,
        "forms": decision,
        "reviewable_at": recovery.reviewable_at(item),
        "expires_at": recovery.expires_at(item),
        "expired": recovery.is_expired(item),
        "rows": event_rows(queries.recent_events(user=item.user), viewer_of(request)),
        "by_key": key,
    }
    return render(request, "console/recovery.html", context)


@console_view
def review(request: HttpRequest, request_id: int) -> HttpResponse:
    return _review_page(request, get_object_or_404(RecoveryRequest, pk=request_id))


def _decide(request: HttpRequest, request_id: int, prefix: str) -> HttpResponseBase:
    item = get_object_or_404(RecoveryRequest, pk=request_id)
    form = DecisionForm(request.POST, prefix=prefix, by_key=by_key(request))
    call = recovery.approve_recovery if prefix == "approve" else recovery.reject_recovery
    if form.is_valid():
        try:
            data = form.cleaned_data
            proof = reauth.proof_from(data, request.session, relying_party(request))
            call(actor_from(request), item.pk, data["note"], code=proof)
        except (ConsoleError, NotPermitted) as exc:
            form.add_error(None, str(exc))
        else:
            done = (
                _("The recovery is approved: the account's factors are removed.")
                if prefix == "approve"
                else _("The recovery is refused.")
            )
            messages.success(request, done)
            return redirect(reverse("console:recovery", args=[item.pk]))
    response = _review_page(request, item, form)
    response.status_code = 400
    return response


@console_view
@require_POST
def approve(request: HttpRequest, request_id: int) -> HttpResponseBase:
    return _decide(request, request_id, "approve")


@console_view
@require_POST
def reject(request: HttpRequest, request_id: int) -> HttpResponseBase:
    return _decide(request, request_id, "reject")

"""The view side of an action staff confirm with their second factor, shared by the
console's pages and the other staff pages (reports, project status, issuers): which
field the form asks for, the proof it carries, and the one way a refusal is shown.

The rule itself is in the services (``reauth.confirm_staff_action``); these helpers only
parse the form and render the answer, with the templates ``console/action.html`` (one
confirmed form), ``console/key_support.html`` and ``console/errors.html``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect

from strongroom.accounts.actors import NotPermitted
from strongroom.console import reauth
from strongroom.console.errors import ConsoleError
from strongroom.mfa.services.challenges import relying_party


def by_key(request: HttpRequest) -> bool:
    """Whether this staff member confirms actions with a security key (no app)."""
    return reauth.confirms_with_key(request.user)  # type: ignore[arg-type]


def proof_of(request: HttpRequest, form: forms.Form) -> reauth.Proof:
    """What the valid ``form`` (a ConfirmedActionForm) carries: the code, or the key's
    answer with the challenge this session was given (spent now)."""
    return reauth.proof_from(form.cleaned_data, request.session, relying_party(request))


def action_errors(bound: forms.Form | None) -> list[str]:
    """The refusal of the action, shown once at the top (field errors stay by their field)."""
    if bound is None:
        return []
    # A hidden field's error (the key's answer missing) would be hidden with its form.
    hidden = [str(error) for field in bound.hidden_fields() for error in field.errors]
    return [str(error) for error in bound.non_field_errors()] + hidden


def run_confirmed(
    request: HttpRequest,
    form: forms.Form,
    call: Callable[[dict[str, Any]], object],
    done: str | Callable[[Any], str],
    page: Callable[[forms.Form], HttpResponse],
    back: str,
    refused: tuple[type[Exception], ...] = (),
) -> HttpResponseBase:
    """Run one confirmed action from a bound form: ``call`` gets the cleaned data with the
    proof as ``code``; a redirect to ``back`` with ``done`` (or ``done(result)``), or
    ``page`` again with a 400 on refusal (a wrong code, or one of ``refused``: the
    service's own errors)."""
    caught: tuple[type[Exception], ...] = (ConsoleError, NotPermitted, *refused)
    if form.is_valid():
        try:
            result = call({**form.cleaned_data, "code": proof_of(request, form)})
        except caught as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, done(result) if callable(done) else done)
            return redirect(back)
    response = page(form)
    response.status_code = 400
    return response

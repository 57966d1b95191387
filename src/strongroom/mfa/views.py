"""Second-factor pages. Each view parses a form, calls one service, then renders or redirects."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from strongroom.accounts.decorators import reauthentication_required
from strongroom.accounts.models import User
from strongroom.mfa import devices
from strongroom.mfa.forms import (
    CredentialForm,
    RecoveryCodeForm,
    RemoveSecurityKeyForm,
    SecurityKeyForm,
    TotpCodeForm,
)
from strongroom.mfa.models import SecurityKey
from strongroom.mfa.services import (
    authenticator,
    changes,
    common,
    second_step,
    security_keys,
)
from strongroom.mfa.services import recovery_codes as codes_service
from strongroom.mfa.services.challenges import relying_party
from strongroom.web.actor import actor_from
from strongroom.web.http import shows_secret, wants_html


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _limited(response: HttpResponse, exc: common.RateLimited) -> HttpResponse:
    response.status_code = 429
    if exc.retry_after:
        response["Retry-After"] = str(exc.retry_after)
    return response


def _json_error(exc: common.MfaError) -> JsonResponse:
    status = 429 if isinstance(exc, common.RateLimited) else 400
    response = JsonResponse({"error": str(exc)}, status=status)
    if isinstance(exc, common.RateLimited) and exc.retry_after:
        response["Retry-After"] = str(exc.retry_after)
    return response


def _after_factor_added(request: HttpRequest, codes: list[str] | None) -> HttpResponse:
    if codes:
        codes_service.keep_fresh_codes(request.session, codes)
        return redirect("mfa:recovery_codes")
    return redirect("accounts:manage")


def help_page(request: HttpRequest) -> HttpResponse:
    return render(request, "mfa/help.html")


# --- authenticator app ------------------------------------------------------------------


@shows_secret
@reauthentication_required
def totp_provision(request: HttpRequest) -> HttpResponse:
    form = TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = authenticator.enable_totp(
                actor_from(request), request.session, form.cleaned_data["code"]
            )
        except common.MfaError as exc:
            form.add_error("code", str(exc))
        else:
            messages.success(request, _("Your authenticator app is set up."))
            return _after_factor_added(request, codes)
    try:
        provisioning = authenticator.start_totp_provisioning(actor_from(request))
    except common.MfaError as exc:
        messages.error(request, str(exc))
        return redirect("accounts:manage")
    return render(
        request,
        "mfa/totp_provision.html",
        {"form": form, "provisioning": provisioning},
        status=400 if form.errors else 200,
    )


@require_POST
@reauthentication_required
def totp_delete(request: HttpRequest) -> HttpResponse:
    try:
        authenticator.remove_totp(actor_from(request), request.session)
        messages.success(request, _("Your authenticator app was removed."))
    except common.MfaError as exc:
        messages.error(request, str(exc))
    return redirect("accounts:manage")


# --- recovery codes -------------------------------------------------------------------


@shows_secret
@reauthentication_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if request.method == "POST":
        try:
            codes = codes_service.regenerate_recovery_codes(actor_from(request))
        except common.MfaError as exc:
            messages.error(request, str(exc))
            return redirect("accounts:manage")
        codes_service.keep_fresh_codes(request.session, codes)
        return redirect("mfa:recovery_codes")
    codes = codes_service.take_fresh_codes(request.session)
    # Codes are shown once: shows_secret keeps them out of every cache, the back button's too.
    return render(
        request,
        "mfa/recovery_codes.html",
        {
            "codes": codes,
            "codes_text": "\n".join(codes) + "\n" if codes else "",
            "mfa": changes.summary(user),
        },
    )


# --- security keys and passkeys ---------------------------------------------------------


@reauthentication_required
def webauthn_provision(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user.has_verified_primary_email:
        messages.error(
            request, _("Verify your primary email address before adding a second factor.")
        )
        return redirect("accounts:manage")
    return render(request, "mfa/webauthn_provision.html", {"form": SecurityKeyForm()})


@require_POST
@reauthentication_required
def webauthn_provision_options(request: HttpRequest) -> HttpResponse:
    passkey = request.POST.get("passkey") in {"on", "true", "1"}
    try:
        options = security_keys.webauthn_registration_options(
            actor_from(request), request.session, relying_party(request), passkey=passkey
        )
    except common.MfaError as exc:
        return _json_error(exc)
    return HttpResponse(options, content_type="application/json")


@require_POST
@reauthentication_required
def webauthn_provision_validate(request: HttpRequest) -> HttpResponse:
    form = SecurityKeyForm(request.POST)
    if form.is_valid() and form.cleaned_data["credential"]:
        try:
            codes = security_keys.add_security_key(
                actor_from(request),
                request.session,
                relying_party(request),
                label=form.cleaned_data["label"],
                credential=form.cleaned_data["credential"],
            )
        except common.MfaError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("“%(label)s” was added to your account.") % {"label": form.cleaned_data["label"]},
            )
            return _after_factor_added(request, codes)
    elif form.is_valid():
        form.add_error(None, _("Your browser did not send a key. JavaScript must be enabled."))
    return render(request, "mfa/webauthn_provision.html", {"form": form}, status=400)


@reauthentication_required
def webauthn_delete(request: HttpRequest, key_id: int) -> HttpResponse:
    user = _user(request)
    key = SecurityKey.objects.filter(user=user, pk=key_id).first()
    if key is None:
        messages.error(request, _("That key is not on your account."))
        return redirect("accounts:manage")
    form = RemoveSecurityKeyForm(request.POST or None, initial={"key_id": key.pk})
    if request.method == "POST" and form.is_valid():
        try:
            security_keys.remove_security_key(
                actor_from(request), request.session, key.pk, form.cleaned_data["confirm_label"]
            )
        except common.MfaError as exc:
            form.add_error("confirm_label", str(exc))
        else:
            messages.success(request, _("“%(label)s” was removed.") % {"label": key.label})
            return redirect("accounts:manage")
    return render(
        request,
        "mfa/webauthn_delete.html",
        {"form": form, "key": key},
        status=400 if form.errors else 200,
    )


# --- the second login step -----------------------------------------------------------------


def _signed_in(request: HttpRequest, outcome: second_step.LoginOutcome) -> HttpResponse:
    target = outcome.next_url
    if not (
        target
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        target = reverse(settings.LOGIN_REDIRECT_URL)
    if outcome.method == "recovery_code" or (
        outcome.recovery_codes_left <= common.LOW_RECOVERY_CODES
    ):
        messages.warning(
            request,
            ngettext(
                "You have %(count)d recovery code left. Generate new ones from your account page.",
                "You have %(count)d recovery codes left. Generate new ones from your account page.",
                outcome.recovery_codes_left,
            )
            % {"count": outcome.recovery_codes_left},
        )
    response = HttpResponseRedirect(target)
    devices.remember_device(request, response, outcome.user)
    return response


def _two_factor_page(
    request: HttpRequest,
    user: User,
    *,
    totp_form: TotpCodeForm | None = None,
    recovery_form: RecoveryCodeForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    mfa = changes.summary(user)
    return render(
        request,
        "mfa/two_factor.html",
        {
            "mfa": mfa,
            "totp_form": totp_form or TotpCodeForm(),
            "recovery_form": recovery_form or RecoveryCodeForm(),
            "webauthn_form": CredentialForm(),
            "error": error,
            "recovery_open": recovery_form is not None,
        },
        status=status,
    )


def _expired(request: HttpRequest) -> HttpResponse:
    messages.error(request, _("Your sign-in took too long. Log in again."))
    return redirect("accounts:login")


def two_factor(request: HttpRequest) -> HttpResponse:
    """GET: the methods on offer. POST: an authenticator code."""
    user = second_step.pending_user(request)
    if user is None:
        return _expired(request)
    form = TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = second_step.login_with_totp(request, form.cleaned_data["code"])
        except common.RateLimited as exc:
            form.add_error(None, str(exc))
            return _limited(_two_factor_page(request, user, totp_form=form), exc)
        except common.SecondStepExpired:
            return _expired(request)
        except common.MfaError as exc:
            form.add_error("code", str(exc))
        else:
            return _signed_in(request, outcome)
    return _two_factor_page(request, user, totp_form=form, status=400 if form.errors else 200)


@require_POST
def recovery_code_login(request: HttpRequest) -> HttpResponse:
    user = second_step.pending_user(request)
    if user is None:
        return _expired(request)
    form = RecoveryCodeForm(request.POST)
    if form.is_valid():
        try:
            outcome = second_step.login_with_recovery_code(
                request, form.cleaned_data["recovery_code"]
            )
        except common.RateLimited as exc:
            form.add_error(None, str(exc))
            return _limited(_two_factor_page(request, user, recovery_form=form), exc)
        except common.SecondStepExpired:
            return _expired(request)
        except common.MfaError as exc:
            form.add_error("recovery_code", str(exc))
        else:
            return _signed_in(request, outcome)
    return _two_factor_page(request, user, recovery_form=form, status=400)


@require_POST
def webauthn_authenticate_options(request: HttpRequest) -> HttpResponse:
    try:
        return HttpResponse(
            second_step.webauthn_login_options(request), content_type="application/json"
        )
    except common.MfaError as exc:
        return _json_error(exc)


@require_POST
def webauthn_authenticate(request: HttpRequest) -> HttpResponse:
    user = second_step.pending_user(request)
    if user is None:
        return _expired(request)
    form = CredentialForm(request.POST)
    if not form.is_valid():
        return _two_factor_page(
            request, user, error=_("Your browser did not send a key. Try again."), status=400
        )
    try:
        outcome = second_step.login_with_webauthn(request, form.cleaned_data["credential"])
    except common.RateLimited as exc:
        return _limited(_two_factor_page(request, user, error=str(exc)), exc)
    except common.SecondStepExpired:
        return _expired(request)
    except common.MfaError as exc:
        return _two_factor_page(request, user, error=str(exc), status=400)
    return _signed_in(request, outcome)


@require_POST
def cancel_two_factor(request: HttpRequest) -> HttpResponse:
    second_step.cancel_second_step(request)
    return redirect("accounts:login")


@require_POST
def passkey_options(request: HttpRequest) -> HttpResponse:
    return HttpResponse(second_step.passkey_login_options(request), content_type="application/json")


@require_POST
def passkey_login(request: HttpRequest) -> HttpResponse:
    form = CredentialForm(request.POST)
    next_url = request.POST.get("next", "")
    error = _("Your browser did not send a passkey. Try again.")
    status = 400
    if form.is_valid():
        try:
            outcome = second_step.login_with_passkey(
                request, form.cleaned_data["credential"], next_url
            )
        except common.RateLimited as exc:
            error, status = str(exc), 429
        except common.MfaError as exc:
            error = str(exc)
        else:
            return _signed_in(request, outcome)
    if not wants_html(request):
        return HttpResponse(error + "\n", status=status, content_type="text/plain; charset=utf-8")
    messages.error(request, error)
    response = redirect("accounts:login")
    return response

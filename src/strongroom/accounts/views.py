"""Account pages. Each view parses a form, calls one service, then renders or redirects."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from strongroom.accounts import services
from strongroom.accounts.decorators import reauthentication_required
from strongroom.accounts.forms import (
    AddEmailForm,
    ChangePasswordForm,
    LoginForm,
    ReauthenticateForm,
    RegistrationForm,
    ResetPasswordForm,
    ResetRequestForm,
    TimeZoneForm,
)
from strongroom.accounts.links import InvalidLink
from strongroom.accounts.models import SessionRecord, User
from strongroom.events.display import rows as event_rows
from strongroom.events.models import Event
from strongroom.events.views import jsonl_response, viewer_of
from strongroom.mfa.services import queries, second_step
from strongroom.web.http import shows_secret, wants_html
from strongroom.web.useragents import describe_user_agent


def _form_page(
    request: HttpRequest,
    form: object,
    title: str,
    submit: str,
    status: int = 200,
    template: str = "web/form.html",
    **extra: object,
) -> HttpResponse:
    context = {"form": form, "title": title, "submit_label": submit, **extra}
    return render(request, template, context, status=status)


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _rate_limited(
    request: HttpRequest, exc: services.RateLimited, page: HttpResponse
) -> HttpResponse:
    if not wants_html(request):
        page = HttpResponse(str(exc) + "\n", content_type="text/plain; charset=utf-8")
    page.status_code = 429
    if exc.retry_after:
        page["Retry-After"] = str(exc.retry_after)
    return page


def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:manage")
    form = RegistrationForm(request.POST or None)
    title, submit = _("Create an account"), _("Create account")
    if request.method == "POST" and form.is_valid():
        try:
            services.register(
                request,
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["new_password"],
            )
        except services.RateLimited as exc:
            form.add_error(None, str(exc))
            return _rate_limited(request, exc, _form_page(request, form, title, submit))
        except services.AccountError as exc:
            form.add_error(None, str(exc))
            return _form_page(request, form, title, submit, status=400)
        return render(request, "accounts/registered.html", {"address": form.cleaned_data["email"]})
    return _form_page(request, form, title, submit, status=400 if form.errors else 200)


@shows_secret
def verify_email(request: HttpRequest) -> HttpResponse:
    """GET shows a button, POST verifies: mail scanners that prefetch links use no POST."""
    token = request.POST.get("token") or request.GET.get("token") or ""
    if request.method == "POST":
        try:
            email = services.verify_email(request, token)
        except InvalidLink as exc:
            return render(
                request,
                "web/error.html",
                {"title": _("Link not valid"), "message": str(exc)},
                status=400,
            )
        messages.success(request, _("%(email)s is verified.") % {"email": email.email})
        return redirect("accounts:manage" if request.user.is_authenticated else "accounts:login")
    return render(request, "accounts/verify_email.html", {"token": token})


def login(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    title, submit = _("Log in"), _("Log in")
    template = "accounts/login.html"
    if request.method == "POST" and form.is_valid():
        try:
            user = services.authenticate_password(
                request, form.cleaned_data["login"], form.cleaned_data["password"]
            )
        except services.RateLimited as exc:
            form.add_error(None, str(exc))
            return _rate_limited(
                request, exc, _form_page(request, form, title, submit, template=template)
            )
        except services.AccountError as exc:
            form.add_error(None, str(exc))
            return _form_page(request, form, title, submit, status=400, template=template)
        if queries.has_second_factor(user):
            # Half signed in: the second step finishes the login (request.user stays anonymous).
            second_step.begin_second_step(request, user, _safe_next(request, ""))
            return redirect("mfa:two_factor")
        services.complete_login(request, user, method="password")
        return HttpResponseRedirect(_safe_next(request, reverse(settings.LOGIN_REDIRECT_URL)))
    return _form_page(
        request,
        form,
        title,
        submit,
        status=400 if form.errors else 200,
        next=_safe_next(request, ""),
        template=template,
    )


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    services.logout(request)
    messages.info(request, _("You are logged out."))
    return redirect(settings.LOGOUT_REDIRECT_URL)


@login_required
def reauthenticate(request: HttpRequest) -> HttpResponse:
    form = ReauthenticateForm(request.POST or None)
    title, submit = _("Confirm your password"), _("Confirm")
    next_url = _safe_next(request, reverse("accounts:manage"))

    def page(status: int = 200) -> HttpResponse:
        return _form_page(
            request,
            form,
            title,
            submit,
            status=status,
            template="accounts/reauthenticate.html",
            intro=_("This is a sensitive action. Please confirm your password to continue."),
            next=next_url,
        )

    if request.method == "POST" and form.is_valid():
        try:
            services.reauthenticate(request, form.cleaned_data["password"])
        except services.RateLimited as exc:
            form.add_error(None, str(exc))
            return _rate_limited(request, exc, page())
        except services.AccountError as exc:
            form.add_error(None, str(exc))
            return page(status=400)
        return HttpResponseRedirect(next_url)
    return page()


@login_required
def manage(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    return render(
        request,
        "accounts/manage.html",
        {
            "emails": list(user.emails.all()),
            "add_email_form": AddEmailForm(),
            "time_zone_form": TimeZoneForm(initial={"time_zone": user.time_zone}),
        },
    )


def _posted_id(request: HttpRequest, name: str) -> int:
    """A positive database id from the form, or 0 (which matches nothing)."""
    raw = request.POST.get(name, "")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        return 0
    return int(raw)


@reauthentication_required
@require_POST
def email_action(request: HttpRequest) -> HttpResponse:
    """Add, remove, verify or promote an address: sensitive, so the password must be fresh
    (a stolen session must not be able to add an address and reset the password)."""
    user: User = request.user  # type: ignore[assignment]
    action = request.POST.get("action", "")
    email_id = _posted_id(request, "email_id")
    try:
        if action == "add":
            form = AddEmailForm(request.POST)
            if not form.is_valid():
                return render(
                    request,
                    "accounts/manage.html",
                    {"emails": list(user.emails.all()), "add_email_form": form},
                    status=400,
                )
            services.add_email(request, user, form.cleaned_data["email"])
            messages.success(
                request, _("Address added. Check your inbox for the verification link.")
            )
        elif action == "remove":
            services.remove_email(request, user, email_id)
            messages.success(request, _("Address removed."))
        elif action == "primary":
            services.set_primary_email(request, user, email_id)
            messages.success(request, _("Primary address changed."))
        elif action == "resend":
            email = user.emails.filter(pk=email_id).first()
            if email is None:
                raise services.AccountError(_("That email address is not on your account."))
            services.resend_verification(request, email)
            messages.success(request, _("A new verification link is on its way."))
        else:
            raise services.AccountError(_("Unknown action."))
    except services.RateLimited as exc:
        messages.error(request, str(exc))
        response = redirect("accounts:manage")
        response.status_code = 303
        return response
    except services.AccountError as exc:
        messages.error(request, str(exc))
    return redirect("accounts:manage")


@login_required
def change_password(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = ChangePasswordForm(user, request.POST or None)
    title, submit = _("Change your password"), _("Change password")
    if request.method == "POST" and form.is_valid():
        try:
            services.change_password(
                request,
                user,
                form.cleaned_data["current_password"],
                form.cleaned_data["new_password"],
            )
        except services.RateLimited as exc:
            form.add_error(None, str(exc))
            return _rate_limited(request, exc, _form_page(request, form, title, submit))
        except services.AccountError as exc:
            form.add_error("current_password", str(exc))
            return _form_page(request, form, title, submit, status=400)
        messages.success(request, _("Your password was changed. Your other sessions were ended."))
        return redirect("accounts:manage")
    return _form_page(request, form, title, submit, status=400 if form.errors else 200)


def request_password_reset(request: HttpRequest) -> HttpResponse:
    form = ResetRequestForm(request.POST or None)
    title, submit = _("Reset your password"), _("Send reset link")
    if request.method == "POST" and form.is_valid():
        try:
            services.request_password_reset(request, form.cleaned_data["login"])
        except services.RateLimited as exc:
            form.add_error(None, str(exc))
            return _rate_limited(request, exc, _form_page(request, form, title, submit))
        return render(request, "accounts/reset_sent.html")
    return _form_page(request, form, title, submit, status=400 if form.errors else 200)


@shows_secret
def reset_password(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    try:
        user = services.check_reset_link(uidb64, token)
    except services.AccountError as exc:
        return render(
            request,
            "web/error.html",
            {"title": _("Link not valid"), "message": str(exc)},
            status=400,
        )
    form = ResetPasswordForm(user, request.POST or None)
    title, submit = _("Choose a new password"), _("Set password")
    if request.method == "POST" and form.is_valid():
        try:
            services.reset_password(request, uidb64, token, form.cleaned_data["new_password"])
        except services.AccountError as exc:
            return render(
                request,
                "web/error.html",
                {"title": _("Link not valid"), "message": str(exc)},
                status=400,
            )
        messages.success(request, _("Your password was reset. You can log in now."))
        return redirect("accounts:login")
    return _form_page(request, form, title, submit, status=400 if form.errors else 200)


@login_required
def sessions(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if request.method == "POST":
        try:
            services.revoke_session(request, user, request.POST.get("session_id", ""))
            messages.success(request, _("The session was ended."))
        except services.AccountError as exc:
            messages.error(request, str(exc))
        return redirect("accounts:sessions")
    current = services.current_session_id(request)
    rows = [
        {
            "record": record,
            "browser": describe_user_agent(record.user_agent),
            "current": str(record.pk) == current,
        }
        for record in SessionRecord.objects.filter(
            user=user,
            last_seen__gte=timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE),
        )
    ]
    return render(request, "accounts/sessions.html", {"rows": rows})


@login_required
def security_history(request: HttpRequest) -> HttpResponse:
    since = timezone.now() - timedelta(days=settings.HISTORY_WINDOW_DAYS)
    user: User = request.user  # type: ignore[assignment]
    events = Event.objects.filter(user=user, created__gte=since).select_related("actor")[:500]
    return render(
        request,
        "accounts/security_history.html",
        {"rows": event_rows(events, viewer_of(request)), "days": settings.HISTORY_WINDOW_DAYS},
    )


@login_required
def security_history_export(request: HttpRequest) -> StreamingHttpResponse:
    """Everything still kept about the account, as JSON Lines (oldest first)."""
    user: User = request.user  # type: ignore[assignment]
    return jsonl_response(
        Event.objects.filter(user=user), f"{user.username}-security-history", viewer_of(request)
    )


@login_required
@require_POST
def time_zone(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = TimeZoneForm(request.POST)
    if form.is_valid():
        services.set_time_zone(user, form.cleaned_data["time_zone"])
        messages.success(request, _("Times are now shown in %(zone)s.") % {"zone": user.time_zone})
    else:
        messages.error(request, _("Choose a time zone from the list."))
    return redirect("accounts:manage")

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from strongroom.web.http import absolute_url
from strongroom.web.outage import outage_response


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html")


def publish_help(request: HttpRequest) -> HttpResponse:
    """How to publish a first package here: an account, an API token, build, twine."""
    context = {"index_url": absolute_url("/simple/"), "upload_url": absolute_url("/legacy/")}
    return render(request, "web/publish_help.html", context)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Shown when a state-changing request lacks a valid CSRF token."""
    return render(
        request,
        "web/error.html",
        {
            "title": _("Request refused"),
            "message": _(
                "This form was not sent with a valid security token. Reload the page and "
                "try again; make sure cookies are enabled for this site."
            ),
        },
        status=403,
    )


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    from strongroom.mfa.policy import TwoFactorNeeded

    if isinstance(exception, TwoFactorNeeded):
        context = {
            "reason": exception.reason,
            "sign_in_again": getattr(exception, "sign_in_again", False),
        }
        return render(request, "web/two_factor_needed.html", context, status=403)
    return render(
        request,
        "web/error.html",
        {"title": _("Not allowed"), "message": _("You may not do this.")},
        status=403,
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(
        request,
        "web/error.html",
        {"title": _("Not found"), "message": _("There is nothing at this address.")},
        status=404,
    )


def server_error(request: HttpRequest) -> HttpResponse:
    outage = outage_response()
    if outage is not None:
        return outage
    return render(
        request,
        "web/error.html",
        {"title": _("Something went wrong"), "message": _("Please try again in a moment.")},
        status=500,
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(
        request,
        "web/error.html",
        {"title": _("Bad request"), "message": _("The request could not be understood.")},
        status=400,
    )

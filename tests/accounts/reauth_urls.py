"""A test-only URLconf: the product's URLs plus one view behind the re-authentication guard."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from strongroom.accounts.decorators import reauthentication_required


@reauthentication_required
def sensitive(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"sensitive {request.method}")


urlpatterns = [
    path("test/sensitive/", sensitive),
    path("", include("strongroom.urls")),
]

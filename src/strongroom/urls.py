from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

handler400 = "strongroom.web.views.bad_request"
handler403 = "strongroom.web.views.forbidden"
handler404 = "strongroom.web.views.not_found"
handler500 = "strongroom.web.views.server_error"

admin.site.site_header = format_lazy(_("{site_name} administration"), site_name=settings.SITE_NAME)

urlpatterns = [
    # Staff sign in through the normal login (limits, second factor), never the admin's own.
    path(
        f"{settings.ADMIN_PATH}/records/login/",
        RedirectView.as_view(pattern_name="accounts:login", query_string=True),
    ),
    # Reports and project status (packages.reports, packages.lifecycle), linked from the console.
    path(f"{settings.ADMIN_PATH}/", include("strongroom.packages.staff_urls")),
    # The stock admin only shows records (web.admin_site.ServiceAdmin); changes are made
    # in the staff console (console/), which owns the rest of ADMIN_PATH.
    path(f"{settings.ADMIN_PATH}/records/", admin.site.urls),
    path("", include("strongroom.console.urls")),
    path("", include("strongroom.console.recovery_urls")),
    path("", include("strongroom.ops.urls")),
    path("", include("strongroom.accounts.urls")),
    path("", include("strongroom.events.urls")),
    path("", include("strongroom.mfa.urls")),
    path("", include("strongroom.tokens.urls")),
    path("", include("strongroom.upload.urls")),
    path("", include("strongroom.publishing.urls")),
    path("", include("strongroom.index.urls")),
    path("", include("strongroom.proxy.urls")),
    path("", include("strongroom.packages.urls")),
    path("", include("strongroom.orgs.urls")),
    path("", include("strongroom.web.urls")),
]

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

handler400 = "strongroom.web.views.bad_request"
handler403 = "strongroom.web.views.forbidden"
handler404 = "strongroom.web.views.not_found"
handler500 = "strongroom.web.views.server_error"

admin.site.site_header = f"{settings.SITE_NAME} administration"

urlpatterns = [
    # Staff sign in through the normal login (limits, second factor), never the admin's own.
    path(
        f"{settings.ADMIN_PATH}/login/",
        RedirectView.as_view(pattern_name="accounts:login", query_string=True),
    ),
    path(f"{settings.ADMIN_PATH}/", include("strongroom.packages.staff_urls")),
    path(f"{settings.ADMIN_PATH}/", admin.site.urls),
    path("", include("strongroom.ops.urls")),
    path("", include("strongroom.accounts.urls")),
    path("", include("strongroom.events.urls")),
    path("", include("strongroom.mfa.urls")),
    path("", include("strongroom.tokens.urls")),
    path("", include("strongroom.upload.urls")),
    path("", include("strongroom.index.urls")),
    path("", include("strongroom.packages.urls")),
    path("", include("strongroom.web.urls")),
]

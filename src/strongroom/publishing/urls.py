from django.urls import path

from strongroom.publishing import attestation_views, views

app_name = "publishing"
urlpatterns = [
    path("_/oidc/audience", views.audience, name="audience"),
    path("_/oidc/mint-token", views.mint_token, name="mint_token"),
    # The older spelling some clients (pdm) still post to.
    path("_/oidc/github/mint-token", views.mint_token),
    path(".well-known/pytp", views.discovery, name="discovery"),
    path(".well-known/pytp/<str:key>", views.discovery_for, name="discovery_for"),
    path("manage/project/<str:name>/publishing/", views.project_publishing, name="project"),
    path(
        "manage/project/<str:name>/attestations/",
        attestation_views.project_attestations,
        name="attestations",
    ),
    path("manage/account/publishing/", views.pending, name="pending"),
    path("manage/issuers/", views.issuers, name="issuers"),
    path("manage/issuers/add", views.add_issuer, name="add_issuer"),
    path(
        "manage/issuers/<int:issuer_id>/<str:state>",
        views.set_issuer_state,
        name="issuer_state",
    ),
    path("help/trusted-publishing/", views.help_page, name="help"),
]

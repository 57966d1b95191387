from django.urls import path

from strongroom.tokens import views

app_name = "tokens"
urlpatterns = [
    path("manage/account/token/", views.create, name="create"),
    path("manage/account/tokens/", views.token_list, name="list"),
    path("manage/account/tokens/revoke/", views.revoke, name="revoke"),
    path("_/secrets/disclose-token", views.disclose, name="disclose"),
]

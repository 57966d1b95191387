from django.urls import path

from strongroom.mfa import views

app_name = "mfa"
urlpatterns = [
    # Managing factors (paths follow PyPI's).
    path("manage/account/totp-provision", views.totp_provision, name="totp_provision"),
    path("manage/account/totp-provision/delete", views.totp_delete, name="totp_delete"),
    path("manage/account/webauthn-provision", views.webauthn_provision, name="webauthn_provision"),
    path(
        "manage/account/webauthn-provision/options",
        views.webauthn_provision_options,
        name="webauthn_provision_options",
    ),
    path(
        "manage/account/webauthn-provision/validate",
        views.webauthn_provision_validate,
        name="webauthn_provision_validate",
    ),
    path(
        "manage/account/webauthn-provision/delete/<int:key_id>",
        views.webauthn_delete,
        name="webauthn_delete",
    ),
    path("manage/account/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    # The second login step.
    path("account/two-factor/", views.two_factor, name="two_factor"),
    path("account/two-factor/cancel", views.cancel_two_factor, name="cancel_two_factor"),
    path("account/recovery-code/", views.recovery_code_login, name="recovery_code_login"),
    path(
        "account/webauthn-authenticate/options",
        views.webauthn_authenticate_options,
        name="webauthn_authenticate_options",
    ),
    path(
        "account/webauthn-authenticate/validate",
        views.webauthn_authenticate,
        name="webauthn_authenticate",
    ),
    # Passkeys: both factors at once, from the login page.
    path("account/passkey/options", views.passkey_options, name="passkey_options"),
    path("account/passkey/validate", views.passkey_login, name="passkey_login"),
    path("help/two-factor/", views.help_page, name="help"),
]

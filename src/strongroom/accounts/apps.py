from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "strongroom.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from strongroom.accounts.signals import on_user_logged_in

        user_logged_in.connect(on_user_logged_in, dispatch_uid="strongroom-session-record")

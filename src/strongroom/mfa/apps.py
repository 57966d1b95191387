from django.apps import AppConfig


class MfaConfig(AppConfig):
    name = "strongroom.mfa"
    label = "mfa"

from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "strongroom.tokens"
    label = "tokens"

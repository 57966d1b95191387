from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "strongroom.console"
    label = "console"

from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "strongroom.notify"
    label = "notify"

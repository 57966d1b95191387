from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "strongroom.web"
    label = "web"

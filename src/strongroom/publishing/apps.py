from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "strongroom.publishing"
    label = "publishing"

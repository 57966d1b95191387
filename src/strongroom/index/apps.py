from django.apps import AppConfig


class IndexConfig(AppConfig):
    name = "strongroom.index"
    label = "index"

from django.apps import AppConfig


class PackagesConfig(AppConfig):
    name = "strongroom.packages"
    label = "packages"

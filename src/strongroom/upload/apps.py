from django.apps import AppConfig


class UploadConfig(AppConfig):
    name = "strongroom.upload"
    label = "upload"

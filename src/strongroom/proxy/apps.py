from django.apps import AppConfig


class ProxyConfig(AppConfig):
    name = "strongroom.proxy"
    label = "proxy"
    default_auto_field = "django.db.models.BigAutoField"

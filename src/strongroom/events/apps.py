from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "strongroom.events"
    label = "events"

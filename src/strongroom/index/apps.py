from django.apps import AppConfig


class IndexConfig(AppConfig):
    name = "strongroom.index"
    label = "index"

    def ready(self) -> None:
        from strongroom.index import prerender
        from strongroom.packages.signals import project_changed

        project_changed.connect(prerender.on_project_changed, dispatch_uid="index-prerender")

from django.apps import AppConfig


class IndexConfig(AppConfig):
    name = "strongroom.index"
    label = "index"

    def ready(self) -> None:
        from strongroom.index import prerender, purge
        from strongroom.packages.signals import project_changed, project_removed

        project_changed.connect(prerender.on_project_changed, dispatch_uid="index-prerender")
        project_changed.connect(purge.on_project_changed, dispatch_uid="index-purge")
        project_removed.connect(purge.on_project_removed, dispatch_uid="index-purge-removed")
        project_removed.connect(prerender.on_project_removed, dispatch_uid="index-root-removed")

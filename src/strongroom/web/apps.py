from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class WebConfig(AppConfig):
    name = "strongroom.web"
    label = "web"


class StaffAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with this site's AdminSite (staff with a second factor only).

    Named in INSTALLED_APPS; ``default = False`` keeps WebConfig the web app's config.
    """

    default = False
    default_site = "strongroom.web.admin_site.StaffAdminSite"

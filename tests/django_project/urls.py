from django.contrib import admin
from django.urls import include, path

from tasker.contrib.django.dashboard import dashboard_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path("tasker/", include(dashboard_urls())),
]

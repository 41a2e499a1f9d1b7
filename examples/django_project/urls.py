from django.contrib import admin
from django.urls import include, path

from shop import views
from tasker.contrib.django.dashboard import dashboard_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path("tasker/", include(dashboard_urls())),     # Tasker's dashboard, for staff users
    path("signup", views.signup),
    path("tasks/<str:result_id>", views.task_status),
]

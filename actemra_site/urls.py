from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "ACTEMRA dosing content"
admin.site.site_title = "ACTEMRA content admin"
admin.site.index_title = "Monograph and dosing tables"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("dosing.urls")),
]

from __future__ import annotations

from django.urls import path

from . import views

app_name = "dosing"

urlpatterns = [
    path("", views.calculator, name="calculator"),
    path("monograph/", views.monograph, name="monograph"),
    path("monograph/compare/", views.compare_labels, name="compare_labels"),
    path("offline/", views.offline, name="offline"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
]

from __future__ import annotations

from django.urls import path

from . import views

app_name = "dosing"

urlpatterns = [
    path("", views.calculator, name="calculator"),
    path("monograph/", views.monograph, name="monograph"),
]

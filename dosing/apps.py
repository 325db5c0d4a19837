from __future__ import annotations

from django.apps import AppConfig


class DosingConfig(AppConfig):
    name = "dosing"
    verbose_name = "ACTEMRA dosing content"

    def ready(self) -> None:
        from . import signals  # noqa: F401 (connects the content-version receivers)
        from .interop import checks  # noqa: F401 (registers the deploy check)

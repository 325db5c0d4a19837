"""Static files: compressed, content-hashed names, and ES module imports rewritten to them."""

from __future__ import annotations

from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage

# Django's patterns for `support_js_module_import_aggregation` (a class attribute since 4.2);
# django-stubs leaves the private name out.
_, _MODULE_IMPORT_PATTERNS = ManifestStaticFilesStorage._js_module_import_aggregation_patterns  # type: ignore[attr-defined]


class StaticStorage(CompressedManifestStaticFilesStorage):
    """Rewrites `import ... from "./x.mjs"` in our own `.mjs` modules to hashed names.

    Django's `support_js_module_import_aggregation` applies to every `*.js`, and vendored htmx
    extensions mention `import("../htmx")` in JSDoc comments, which it then fails to resolve.
    Scoping the rewrite to `*.mjs` keeps it to the modules we write.
    """

    patterns = (*CompressedManifestStaticFilesStorage.patterns, ("*.mjs", _MODULE_IMPORT_PATTERNS))

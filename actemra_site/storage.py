"""Static files: compressed, content-hashed names, and ES module imports rewritten to them."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    # Rewrites `import ... from "./x.mjs"` to the hashed name, so modules cache forever safely.
    support_js_module_import_aggregation = True

"""Static files: compressed, content-hashed names, ES module imports rewritten to them, and our
own modules and stylesheets served without their comments."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from django.core.files.base import ContentFile
from whitenoise.storage import CompressedManifestStaticFilesStorage

# Django's patterns for `support_js_module_import_aggregation` (a class attribute since 4.2);
# django-stubs leaves the private name out.
_, _MODULE_IMPORT_PATTERNS = ManifestStaticFilesStorage._js_module_import_aggregation_patterns  # type: ignore[attr-defined]

_CSS_COMMENT = re.compile(r"/\*.*?\*/\n?", re.S)


def without_comments(name: str, text: str) -> str:
    """`text` less its comments: CSS `/* */` blocks, and JS lines that are only a `//` comment.

    The comments explain the code to its readers; a phone need not download them (they were
    over a quarter of app.mjs compressed, and the first load has a 30 KB budget). Only whole
    comment lines go, and none inside a template literal (a backtick left open on an earlier
    line), so the code itself is never touched.
    """
    if name.endswith(".css"):
        return _CSS_COMMENT.sub("", text)
    kept = []
    in_template = False
    for line in text.splitlines(keepends=True):
        if not in_template and line.lstrip().startswith("//"):
            continue
        if line.count("`") % 2:
            in_template = not in_template
        kept.append(line)
    return "".join(kept)


class _WithoutComments:
    """A source storage whose files open without their comments (for the hashing pass)."""

    def __init__(self, storage: Any) -> None:
        self.storage = storage

    def open(self, path: str, mode: str = "rb") -> ContentFile[bytes]:
        with self.storage.open(path) as source:
            text = source.read().decode("utf-8")
        return ContentFile(without_comments(path, text).encode("utf-8"), name=path)


class StaticStorage(CompressedManifestStaticFilesStorage):
    """Rewrites `import ... from "./x.mjs"` in our own `.mjs` modules to hashed names.

    Django's `support_js_module_import_aggregation` applies to every `*.js`, and vendored htmx
    extensions mention `import("../htmx")` in JSDoc comments, which it then fails to resolve.
    Scoping the rewrite to `*.mjs` keeps it to the modules we write.
    """

    patterns = (*CompressedManifestStaticFilesStorage.patterns, ("*.mjs", _MODULE_IMPORT_PATTERNS))

    def post_process(self, paths: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        # Our own files only (dosing/): vendored ones keep their licence comments.
        paths = {
            name: (_WithoutComments(storage), path)
            if name.startswith("dosing/") and name.endswith((".mjs", ".css"))
            else (storage, path)
            for name, (storage, path) in paths.items()
        }
        return super().post_process(paths, *args, **kwargs)

"""actemra_site/storage.py: our modules and stylesheets are served without their comments."""

from __future__ import annotations

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage

from actemra_site.storage import without_comments


def test_whole_comment_lines_go_and_the_code_stays() -> None:
    source = (
        "// why the module exists\n"
        "const a = 1; // a trailing comment stays: it shares a line with code\n"
        "  // an indented comment\n"
        "const b = `one line ${a}`;\n"
    )
    assert without_comments("x.mjs", source) == (
        "const a = 1; // a trailing comment stays: it shares a line with code\n"
        "const b = `one line ${a}`;\n"
    )


def test_a_line_inside_a_template_literal_is_kept_even_if_it_looks_like_a_comment() -> None:
    source = "const html = `\n// part of the string\n`;\n// gone\n"
    assert without_comments("x.mjs", source) == "const html = `\n// part of the string\n`;\n"


def test_css_block_comments_go() -> None:
    source = '/* why */\na { color: red; }\n/* two\n   lines */\nb { content: "✓\\a0"; }\n'
    assert without_comments("x.css", source) == 'a { color: red; }\nb { content: "✓\\a0"; }\n'


def test_the_served_app_module_has_no_comment_lines_and_all_its_code() -> None:
    source = (settings.STATICFILES_DIRS[0] / "dosing" / "app.mjs").read_text()
    served_path = settings.STATIC_ROOT / staticfiles_storage.stored_name("dosing/app.mjs")
    served = served_path.read_text()
    assert not [line for line in served.splitlines() if line.lstrip().startswith("//")]
    code = [line for line in source.splitlines() if not line.lstrip().startswith("//")]
    # Every code line is still there, in order (import paths rewritten to hashed names aside).
    assert len(served.splitlines()) == len(code)
    assert len(served) < len(source)

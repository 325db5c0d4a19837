"""actemra_site/storage.py: our modules and stylesheets are served without their comments."""

from __future__ import annotations

import re

import pytest
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


MODULES = sorted(p.name for p in (settings.STATICFILES_DIRS[0] / "dosing").glob("*.mjs"))


@pytest.mark.parametrize("name", MODULES)
def test_every_served_module_keeps_all_its_code_in_order(name: str) -> None:
    """The offline engine a phone runs is the one the vectors test (tests/js reads the source):
    the served copy differs from it only by whole comment lines and hashed import paths."""
    source = (settings.STATICFILES_DIRS[0] / "dosing" / name).read_text()
    served_path = settings.STATIC_ROOT / staticfiles_storage.stored_name(f"dosing/{name}")
    served = served_path.read_text().splitlines()
    assert not [line for line in served if line.lstrip().startswith("//")]
    code = [line for line in source.splitlines() if not line.lstrip().startswith("//")]
    hashed = re.compile(r"\.[0-9a-f]{12}\.mjs")
    assert [hashed.sub(".mjs", line) for line in served] == code

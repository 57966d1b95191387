"""Rendering a description has a bounded cost and always yields sanitised HTML."""

from __future__ import annotations

import re

import pytest

from strongroom.packages.models import Release
from strongroom.packages.rendering import (
    render_bounded,
    render_description,
    tidy_description_html,
)
from tests.distributions import post_upload, upload_form

NESTED_DIVS = "<div>" * 22_000 + "x" + "</div>" * 22_000  # 242 KB: 15 s in-process on main


@pytest.mark.django_db(transaction=True)
def test_pathological_description_does_not_hold_the_upload(client, user, settings):
    settings.DESCRIPTION_RENDER_MS = 300
    form = upload_form(description=NESTED_DIVS, description_content_type="text/markdown")
    response = post_upload(client, form)
    assert response.status_code == 200, response.reason_phrase
    html = Release.objects.get().description_html
    # Not rendered in time: shown as escaped text, never as the raw markup.
    assert html.startswith("<pre>&lt;div&gt;&lt;div&gt;") and "<div>" not in html


def test_a_child_past_its_budget_is_stopped_and_nothing_is_kept(settings):
    assert render_bounded(NESTED_DIVS, "text/markdown", 0.2) is None
    assert render_description(NESTED_DIVS[:10_000], "text/markdown").startswith("<div>")


@pytest.mark.parametrize(
    ("text", "content_type", "present", "absent"),
    [
        ("# Hi\n\n<script>alert(1)</script>", "text/markdown", "<h1", "<script>"),
        ('<a href="javascript:alert(1)">x</a>', "text/markdown", "x", "javascript:"),
        (".. raw:: html\n\n   <script>x</script>\n", "text/x-rst", "", "<script>"),
        ("<b>plain</b>", "text/plain", "&lt;b&gt;", "<b>"),
    ],
)
def test_rendered_html_is_sanitised(settings, text, content_type, present, absent):
    html = render_description(text, content_type)
    assert present in html and absent not in html


def test_rendering_in_the_child_matches_readme_renderer(settings):
    from readme_renderer import markdown, rst

    text = "Title\n=====\n\n* one\n* two\n\n``code``\n"
    assert render_description(text, "text/x-rst") == tidy_description_html(rst.render(text))
    md = "# T\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nx = 1\n```\n"
    assert render_description(md, "text/markdown") == tidy_description_html(
        markdown.render(md, variant="GFM")
    )


@pytest.mark.parametrize("content_type", ["text/markdown", "text/x-rst"])
def test_headings_keep_no_empty_anchor_links(content_type):
    text = "Title\n=====\n\nBody.\n" if content_type == "text/x-rst" else "# Title\n\nBody.\n"
    html = render_description(text, content_type)
    assert "<h1" in html and "Title" in html
    assert not re.search(r"<a [^>]*></a>", html)
    assert 'id="user-content-title"' in html  # "#title" links still land on the section


def test_code_blocks_are_highlighted_without_an_invalid_lang_attribute():
    html = render_description("```python\nimport os  # c\n```\n", "text/markdown")
    assert " lang=" not in html
    assert '<pre class="highlight language-python">' in html
    assert '<span class="kn">import</span>' in html  # Pygments' token classes


def test_a_lang_value_cannot_break_out_of_the_class_attribute():
    tidy = tidy_description_html('<pre lang="x&quot; onclick=&quot;y">a</pre>')
    assert 'onclick="' not in tidy

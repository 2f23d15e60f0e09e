"""Model output as safe HTML for Qt's rich-text view.

markdown-it-py does the parsing (CommonMark plus tables and strikethrough). Raw HTML in
the model's text is escaped, images are shown as links (nothing remote is ever
loaded), and each code block gets a Copy link whose target is this render's random
token and the block's index: model text can write a `tandem-copy:` link too, but not
one with a token it cannot know.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt

COPY_SCHEME = "tandem-copy"


@dataclass(frozen=True, slots=True)
class Rendered:
    html: str
    code_blocks: tuple[str, ...]
    copy_token: str = ""  # in this render's own Copy links, and nowhere else


def copy_target(url: str, token: str, blocks: int) -> int | None:
    """The code block a `tandem-copy:` address copies, or None when the render with
    `token` did not make it (forged by the model, stale, or out of range)."""
    scheme, _, rest = url.partition(":")
    given, _, index = rest.partition(".")
    if scheme != COPY_SCHEME or not token or not secrets.compare_digest(given, token):
        return None
    if not (index.isascii() and index.isdigit()) or int(index) >= blocks:
        return None
    return int(index)


def _make_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    return md


_MD = _make_parser()


def _render_fence(code_blocks: list[str], copy_token: str) -> Any:
    def render(tokens: Sequence[Any], idx: int, _options: Any, _env: Any, *_rest: Any) -> str:
        token = tokens[idx]
        code = token.content
        index = len(code_blocks)
        code_blocks.append(code)
        lang = html.escape(token.info.strip().split(" ")[0]) if token.info else ""
        label = f"{lang} · " if lang else ""
        return (
            '<table class="code" width="100%" cellspacing="0" cellpadding="6"><tr><td>'
            f'<p class="codehead">{label}<a href="{COPY_SCHEME}:{copy_token}.{index}">Copy</a></p>'
            f"<pre>{html.escape(code)}</pre></td></tr></table>\n"
        )

    return render


def _render_image(tokens: Sequence[Any], idx: int, _options: Any, _env: Any, *_rest: Any) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = html.escape(token.content or "image")
    return f'<a href="{html.escape(src, quote=True)}">[image: {alt}]</a>'


def render_markdown(text: str) -> Rendered:
    code_blocks: list[str] = []
    token = secrets.token_hex(8)
    renderer: Any = _MD.renderer
    renderer.rules["fence"] = _render_fence(code_blocks, token)
    renderer.rules["code_block"] = _render_fence(code_blocks, token)
    renderer.rules["image"] = _render_image
    body = _MD.render(text).replace("<table>", '<table border="1" cellspacing="0" cellpadding="4">')
    return Rendered(body, tuple(code_blocks), token)


def style_sheet(text_color: str, code_background: str, link_color: str, muted: str) -> str:
    """The CSS subset Qt's rich text understands, in the palette's colours."""
    return (
        f"body {{ color: {text_color}; }}"
        f"a {{ color: {link_color}; }}"
        f"table.code {{ background-color: {code_background}; margin-top: 4px; "
        "margin-bottom: 4px; }"
        "pre { font-family: monospace; white-space: pre-wrap; margin: 0; }"
        f"code {{ font-family: monospace; background-color: {code_background}; }}"
        f"p.codehead {{ color: {muted}; font-size: small; margin: 0; }}"
        "table { border-collapse: collapse; }"
        "th, td { padding: 3px 6px; }"
        "h1, h2, h3 { margin-top: 6px; margin-bottom: 4px; }"
    )

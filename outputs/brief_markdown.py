"""The briefing as Markdown: the same blocks as the HTML page, charts described by their alt
text. Every text is escaped (:func:`md_text`), so that a hostile title, description or source
cannot carry HTML, a link or line structure of its own."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .brief_blocks import Appendix, Block, Bullets, Cards, Heading, Inline, Num, Para, Table
from .brief_data import Briefing
from .brief_html import TITLE, subtitle

MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
"""Characters that make emphasis, code, links and images, tables or strike-through in
Markdown (CommonMark and GitHub's extensions), or start HTML and entities (``<``, ``&``):
each is escaped with a backslash wherever it appears in text (with ``[`` and ``]`` escaped,
``(``, ``)`` and ``!`` cannot form a link or an image)."""
MD_LINE_START = re.compile(r"^(\s*)(\d{1,9}(?=[.)](?:\s|$))|(?=[-+=](?:\s|$|[-=]*$))|(?=[>#]))"
                           r"([-+=>#.)])")
"""What makes a line a list item, a quotation or a heading underline when it starts one."""
LINK_SCHEMES = re.compile(r"\b(javascript|vbscript|data|file)(\s*):", re.IGNORECASE)
"""URL schemes that run code or read local files when a Markdown viewer makes a link of them:
the colon is escaped, so no viewer can take the text for a link."""


def md_text(text: str, *, line_start: bool = True) -> str:
    """``text`` (a title, a source, a label: anything from a scenario file or the model) as
    Markdown that shows exactly that text: no emphasis, link, image, raw HTML, entity or
    line structure of its own, and no link to a ``javascript:``-like scheme. ``line_start``:
    the text begins a line (a list, quotation or heading marker there is escaped too)."""
    text = re.sub(r"[\r\n\t\f\v]+", " ", str(text))  # one line: no headings from newlines
    text = MD_SPECIAL.sub(r"\\\1", text)
    text = LINK_SCHEMES.sub(lambda m: f"{m.group(1)}{m.group(2)}\\:", text)
    if not line_start:
        return text
    return _line_start(text)


def _line_start(text: str) -> str:
    return MD_LINE_START.sub(lambda m: m.group(1) + m.group(2) + "\\" + m.group(3), text,
                             count=1)


def _md_parts(parts: Iterable[Inline]) -> str:
    return _line_start("".join(md_text(p.text if isinstance(p, Num) else p, line_start=False)
                               for p in parts))


def _md_cell(cell: Inline | tuple[Inline, ...]) -> str:
    return _md_parts(cell if isinstance(cell, tuple) else (cell,))


def _md_cards(block: Cards) -> str:
    out = []
    for c in block.cards:
        title = md_text(c.title, line_start=False)
        lines = [f"### {title}{' (baseline)' if c.baseline else ''}"]
        lines += [("**" + _md_parts(line) + "**") if i == 0 else _md_parts(line)
                  for i, line in enumerate(c.lines)]
        lines.append(f"*{md_text(c.story, line_start=False)}*")
        if not c.baseline:
            lines += ["What differs from the baseline:",
                      "\n".join(f"- {_md_parts(i)}" for i in c.differs)]
        if c.note:
            lines.append(md_text(c.note))
        out.append("\n\n".join(lines))
    return "\n\n".join(out)


def _md_block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"{'#' * block.level} {md_text(block.text, line_start=False)}"
    if isinstance(block, Para):
        return _md_parts(block.parts)
    if isinstance(block, Bullets):
        return "\n".join(f"- {_md_parts(i)}" for i in block.items)
    if isinstance(block, Table):
        numeric = block.numeric or (False,) * len(block.header)
        lines = [f"*{md_text(block.caption, line_start=False)}*", "",
                 "| " + " | ".join(md_text(h, line_start=False) for h in block.header) + " |",
                 "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
        return "\n".join(lines)
    if isinstance(block, Cards):
        return _md_cards(block)
    if isinstance(block, Appendix):
        return f"## {md_text(block.text, line_start=False)}"
    chart = block.chart
    return (f"**Chart: {md_text(chart.title, line_start=False)}** (drawn in the HTML version "
            f"of this briefing)\n\n> {md_text(chart.alt, line_start=False)}\n\n"
            f"{md_text(chart.source)}")


def render_markdown(b: Briefing, content: Sequence[Block]) -> str:
    """The same content as Markdown, charts described by their alt text; every text escaped
    (:func:`md_text`)."""
    parts = [f"# {md_text(TITLE, line_start=False)}", md_text(subtitle(b)),
             *(_md_block(x) for x in content)]
    return "\n\n".join(parts) + "\n"

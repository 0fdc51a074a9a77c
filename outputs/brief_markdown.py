"""The briefing as Markdown: the same blocks as the HTML page, charts described by their alt
text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .brief_blocks import Appendix, Block, Bullets, Cards, Heading, Inline, Num, Para, Table
from .brief_data import Briefing
from .brief_html import TITLE, subtitle


def _md_parts(parts: Iterable[Inline]) -> str:
    return "".join(p.text if isinstance(p, Num) else p for p in parts)


def _md_cell(cell: Inline | tuple[Inline, ...]) -> str:
    parts = cell if isinstance(cell, tuple) else (cell,)
    return _md_parts(parts).replace("|", "\\|").replace("\n", " ")


def _md_cards(block: Cards) -> str:
    out = []
    for c in block.cards:
        lines = [f"### {c.title}{' (baseline)' if c.baseline else ''}"]
        lines += [("**" + _md_parts(line) + "**") if i == 0 else _md_parts(line)
                  for i, line in enumerate(c.lines)]
        lines.append(f"*{c.story}*")
        if not c.baseline:
            lines += ["What differs from the baseline:",
                      "\n".join(f"- {_md_parts(i)}" for i in c.differs)]
        if c.note:
            lines.append(c.note)
        out.append("\n\n".join(lines))
    return "\n\n".join(out)


def _md_block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"{'#' * block.level} {block.text}"
    if isinstance(block, Para):
        return _md_parts(block.parts)
    if isinstance(block, Bullets):
        return "\n".join(f"- {_md_parts(i)}" for i in block.items)
    if isinstance(block, Table):
        numeric = block.numeric or (False,) * len(block.header)
        lines = [f"*{block.caption}*", "",
                 "| " + " | ".join(block.header) + " |",
                 "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
        return "\n".join(lines)
    if isinstance(block, Cards):
        return _md_cards(block)
    if isinstance(block, Appendix):
        return f"## {block.text}"
    chart = block.chart
    return (f"**Chart: {chart.title}** (drawn in the HTML version of this briefing)\n\n"
            f"> {chart.alt}\n\n{chart.source}")


def render_markdown(b: Briefing, content: Sequence[Block]) -> str:
    """The same content as Markdown, charts described by their alt text."""
    parts = [f"# {TITLE}", subtitle(b), *(_md_block(x) for x in content)]
    return "\n\n".join(parts) + "\n"

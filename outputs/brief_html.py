"""The briefing as one self-contained HTML page: styles inline, charts as inline SVG (their text
stays text, so a browser, a screen reader and a test can read and measure it), no script, no
network."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Sequence

from projection.model import __version__

from .brief_blocks import (
    Appendix,
    Block,
    Bullets,
    Cards,
    Heading,
    Inline,
    Num,
    Para,
    Table,
)
from .brief_data import Briefing

TITLE = "AI in US data centres: electricity, water and carbon"
GENERATOR = '<meta name="generator" content="projection brief'
"""The mark of a page this command wrote (it may be replaced by a new briefing)."""


STYLE = """
body { font-family: 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; color: #1a1a1a;
       max-width: 76rem; margin: 1rem auto; padding: 0 1rem; line-height: 1.4; }
p, ul, h2, h3, figcaption { max-width: 60rem; }
h1 { font-size: 1.5rem; margin: 0 0 0.1rem 0; }
h2 { font-size: 1.2rem; border-bottom: 1px solid #999; padding-bottom: 0.15rem;
     margin-top: 1.6rem; }
h2.appendix { margin-top: 3rem; border-bottom: 3px double #444; max-width: none; }
h3 { font-size: 1.05rem; margin-top: 1.4rem; }
.subtitle { color: #444; margin-top: 0; font-size: 0.9rem; }
#glance { margin-top: 0.6rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(19rem, 1fr));
         gap: 0.8rem; margin: 0.5rem 0; }
.card { border: 1px solid #8fa3c7; border-top: 5px solid #3b4a6b; padding: 0.5rem 0.8rem;
        font-size: 0.92rem; }
.card.baseline { border-top-color: #6b6b6b; }
.card h3 { margin: 0 0 0.3rem 0; font-size: 1.1rem; }
.card .tag { font-size: 0.75rem; font-weight: normal; border: 1px solid #6b6b6b;
             padding: 0 0.3rem; margin-left: 0.3rem; vertical-align: middle; }
.card p { margin: 0.15rem 0; }
.card p.story { font-style: italic; color: #333; font-size: 0.85rem; margin-top: 0.45rem; }
.card p.big { font-size: 1.05rem; }
.card p.big .num:first-child { font-size: 1.6rem; }
.card .differs { margin-top: 0.45rem; font-weight: 600; }
.card ul { margin: 0.1rem 0 0.2rem 0; padding-left: 1.1rem; }
.card li { margin: 0.1rem 0; }
.card .note, p.note { font-size: 0.82rem; color: #333; }
.num { font-weight: 600; white-space: nowrap; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.85rem; }
th, td { border-bottom: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left;
         vertical-align: top; }
th { border-bottom: 2px solid #444; }
td.n, th.n { text-align: right; }
td.n .num { font-weight: normal; }
td.wrap { overflow-wrap: anywhere; max-width: 34rem; }
td:first-child { min-width: 8rem; }
caption, thead { break-after: avoid; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.2rem; }
figure { margin: 1rem 0; break-inside: avoid; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 0.8rem; color: #333; }
figcaption b { display: block; font-size: 0.95rem; color: #1a1a1a; }
h2 { clear: both; }
#chart-map { float: left; max-width: 37rem; margin: 0.4rem 1.5rem 0.6rem 0; }
code { font-size: 0.85rem; }
@page { size: A4; margin: 14mm; }
@media print { body { margin: 0; max-width: none; } h2, h3 { break-after: avoid; }
               tr { break-inside: avoid; } .card { break-inside: avoid; } }
"""


def _html_inline(part: Inline) -> str:
    if isinstance(part, Num):
        attrs = " ".join(f'data-{k}="{html.escape(v)}"' for k, v in part.source.items())
        return (f'<span class="num" {attrs} data-value="{part.value!r}">'
                f"{html.escape(part.text)}</span>")
    return html.escape(part)


def _html_parts(parts: Iterable[Inline]) -> str:
    return "".join(_html_inline(p) for p in parts)


def _cell_parts(cell: Inline | tuple[Inline, ...]) -> tuple[Inline, ...]:
    return cell if isinstance(cell, tuple) else (cell,)


def _table(block: Table) -> str:
    numeric = block.numeric or (False,) * len(block.header)
    head = "".join(f'<th{" class=n" if n else ""} scope="col">{html.escape(h)}</th>'
                   for h, n in zip(block.header, numeric, strict=True))
    body = []
    for row in block.rows:
        cells = []
        for cell, n in zip(row, numeric, strict=True):
            text = _html_parts(_cell_parts(cell))
            long = not n and isinstance(cell, str) and len(cell) > 40
            css = ' class="n"' if n else (' class="wrap"' if long else "")
            cells.append(f"<td{css}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table><caption>{html.escape(block.caption)}</caption><thead><tr>{head}"
            f"</tr></thead><tbody>{''.join(body)}</tbody></table>")


def _cards(block: Cards) -> str:
    out = []
    for c in block.cards:
        tag = '<span class="tag">baseline</span>' if c.baseline else ""
        lines = "".join(f'<p{" class=big" if i == 0 else ""}>{_html_parts(line)}</p>'
                        for i, line in enumerate(c.lines))
        items = "".join(f"<li>{_html_parts(i)}</li>" for i in c.differs)
        differs = ("" if c.baseline else
                   f'<p class="differs">What differs from the baseline</p><ul>{items}</ul>')
        note = f'<p class="note">{html.escape(c.note)}</p>' if c.note else ""
        out.append(f'<section class="card{" baseline" if c.baseline else ""}" '
                   f'data-scenario="{html.escape(c.scenario)}"><h3>{html.escape(c.title)}{tag}'
                   f'</h3>{lines}<p class="story">{html.escape(c.story)}</p>{differs}{note}'
                   "</section>")
    return f'<div class="cards">{"".join(out)}</div>'


def inline_svg(key: str, svg: str, alt: str) -> str:
    """matplotlib's SVG made safe to sit in a page beside others: its ids (clip paths, glyphs)
    prefixed with the chart's key, its style sheet scoped to the chart, labelled for readers of
    the page that cannot see it."""
    prefix = f"{key}-"
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', svg)
    svg = svg.replace("*{stroke-linejoin", f"#chart-{key} svg *{{stroke-linejoin")
    return svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(alt)}" ', 1)


def _html_block(block: Block) -> str:
    if isinstance(block, Heading):
        anchor = f' id="{block.anchor}"' if block.anchor else ""
        return f"<h{block.level}{anchor}>{html.escape(block.text)}</h{block.level}>"
    if isinstance(block, Para):
        css = f' class="{block.css}"' if block.css else ""
        return f"<p{css}>{_html_parts(block.parts)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{_html_parts(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Cards):
        return _cards(block)
    if isinstance(block, Appendix):
        return f'<h2 id="appendix" class="appendix">{html.escape(block.text)}</h2>'
    chart = block.chart
    return (f'<figure id="chart-{chart.key}">{inline_svg(chart.key, chart.svg, chart.alt)}'
            f"<figcaption><b>{html.escape(chart.title)}</b>{html.escape(chart.source)}"
            "</figcaption></figure>")


def subtitle(b: Briefing) -> str:
    titles = ", ".join(b.scenario(n).title for n in b.names)
    return (f"Scenarios {titles} (baseline: {b.scenario(b.baseline).title}), "
            f"{b.years[0]}-{b.years[-1]}. Made {b.created[:10]} with projection {__version__}; "
            "the appendix gives every assumption, check and source.")


def render_html(b: Briefing, content: Sequence[Block]) -> str:
    """A self-contained page: styles inline, charts as inline SVG, no script, no network."""
    body = "\n".join(_html_block(x) for x in content)
    meta = json.dumps({"model_version": __version__, "scenarios": b.names,
                       "baseline": b.baseline, "created": b.created}).replace("</", "<\\/")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">"
        f'{GENERATOR} {__version__}">'
        f"<title>{html.escape(TITLE)}</title><style>{STYLE}</style></head>\n<body>"
        f"<h1>{html.escape(TITLE)}</h1><p class=\"subtitle\">{html.escape(subtitle(b))}</p>\n"
        f"{body}\n<script type=\"application/json\" id=\"provenance\">{meta}"
        "</script></body></html>\n"
    )

"""Render leaderboard rows as a terminal table, Markdown and a static, sortable HTML page."""

from __future__ import annotations

import html

from lpcbench.leaderboard import Statistic
from lpcbench.report.aggregate import Row

# (column, header, format of one number)
TABLE_COLUMNS = [
    ("clean_acc", "clean acc", "{:.3f}"),
    ("deepfool", "DeepFool ||d||/||x||", "{:.4g}"),
    ("deepfool_success", "DeepFool flipped", "{:.1%}"),
    ("best_known", "best-known min", "{:.4g}"),
    ("R_test", "R test", "{:.4g}"),
    ("R_train", "R train", "{:.4g}"),
    ("R", "R (paper)", "{:.4g}"),
    ("norm_cv", "CV ||z||", "{:.3g}"),
    ("nc1", "NC1", "{:.3g}"),
    ("cert_ratio", "certified / attack", "{:.3g}"),
]


def cell(statistic: Statistic | None, fmt: str) -> str:
    """Format mean +- std (mean alone for one seed, n/a for a missing figure)."""
    if statistic is None or statistic.mean is None:
        return "n/a"
    text = fmt.format(statistic.mean)
    if statistic.std is not None:
        text += " +- " + fmt.format(statistic.std)
    return text


def table_rows(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    used = [column for column in TABLE_COLUMNS if any(column[0] in row.figures for row in rows)]
    headers = ["model", "kind", "seeds", "measured as"] + [header for _, header, _ in used] + ["notes"]
    body = []
    for row in rows:
        notes = []
        if row.errors:
            notes.append(f"{len(row.errors)} failed")
        if row.flags:
            notes.append(f"{row.flags} flags")
        if row.kind == "reported":
            seeds = str(row.figures.get("deepfool", Statistic(None)).n)
        else:
            seeds = str(len(row.seeds)) if row.seeds else "-"  # a submitted model may have no training seed
        body.append([row.name, row.kind, seeds, row.measurement] + [cell(row.figures.get(key), fmt) for key, _, fmt in used] + ["; ".join(notes)])
    return headers, body


def terminal_table(rows: list[Row]) -> str:
    headers, body = table_rows(rows)
    widths = [max(len(line[i]) for line in [headers, *body]) for i in range(len(headers))]
    lines = ["  ".join(text.ljust(width) for text, width in zip(headers, widths))]
    lines += ["  ".join(text.ljust(width) for text, width in zip(line, widths)) for line in body]
    return "\n".join(lines)


def markdown_table(rows: list[Row]) -> str:
    headers, body = table_rows(rows)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(line) + " |" for line in body]
    return "\n".join(lines) + "\n"


def html_page(rows: list[Row], title: str, notes: list[str]) -> str:
    """Return a self-contained HTML page. Clicking a column header sorts by it (numbers by their mean)."""
    headers, body = table_rows(rows)
    head = "".join(f"<th onclick=\"sortBy({i})\">{html.escape(text)}</th>" for i, text in enumerate(headers))
    rows_html = "".join(
        f"<tr class=\"{html.escape(line[1])}\">" + "".join(f"<td>{html.escape(text)}</td>" for text in line) + "</tr>" for line in body
    )
    notes_html = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }} table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; }} th {{ cursor: pointer; background: #eee; }}
tr.reported {{ background: #f3f3ff; }} tr.submitted {{ background: #fff6e0; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Rows: <b>measured</b> by lpcbench, <b>reported</b> in a publication (shaded blue), <b>submitted</b> by a user (shaded yellow).
Attack figures are upper bounds on the minimal perturbation; the certified ratio rests on a guaranteed lower bound.</p>
<table id="board"><thead><tr>{head}</tr></thead><tbody>{rows_html}</tbody></table>
<ul>{notes_html}</ul>
<script>
function sortBy(column) {{
  const body = document.querySelector('#board tbody');
  const rows = Array.from(body.rows);
  const key = r => {{ const v = parseFloat(r.cells[column].textContent); return isNaN(v) ? r.cells[column].textContent : v; }};
  const ascending = body.dataset.column != column || body.dataset.order != 'asc';
  rows.sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (ascending ? 1 : -1));
  rows.forEach(r => body.appendChild(r));
  body.dataset.column = column; body.dataset.order = ascending ? 'asc' : 'desc';
}}
</script></body></html>
"""

"""The cleaning report: counts per rule, examples, items in/out, timings.

Renders to JSON (``to_json``), Markdown (``to_markdown``) and a standalone
HTML page (``to_html``, every value escaped).  Examples never show a detected
PII value in clear unless ``report.show_pii`` is true: the matched value in the
"before" snippet is masked (``jo•••••om``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import orjson

from .config import RULES

__all__ = ["CleanReport"]


def _md_cell(v: Any) -> str:
    s = "" if v is None else str(v)
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("`", "ˋ")


@dataclass
class CleanReport:
    items_in: int = 0
    items_kept: int = 0
    items_removed: int = 0
    items_review: int = 0
    items_changed: int = 0
    reference_texts: int = 0
    reference_texts_skipped: int = 0
    # rule -> {"action": str, "items": int, "occurrences": int}
    rules: dict[str, dict] = field(default_factory=dict)
    # rule -> [example, ...]
    examples: dict[str, list[dict]] = field(default_factory=dict)
    # stage -> {"seconds": float, "mb": float, "mb_per_s": float}
    stages: dict[str, dict] = field(default_factory=dict)
    wall_seconds: float = 0.0
    mb_in: float = 0.0
    workers: int = 1
    started_at: str = ""
    config: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    # -- rendering --------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "schema": "labeldesk/clean-report@1",
            "started_at": self.started_at,
            "items": {
                "in": self.items_in,
                "kept": self.items_kept,
                "removed": self.items_removed,
                "review": self.items_review,
                "changed": self.items_changed,
            },
            "reference_texts": {"used": self.reference_texts, "skipped": self.reference_texts_skipped},
            "rules": {k: dict(v) for k, v in sorted(self.rules.items())},
            "examples": {k: list(v) for k, v in sorted(self.examples.items())},
            "timing": {
                "wall_seconds": round(self.wall_seconds, 3),
                "mb_in": round(self.mb_in, 3),
                "mb_per_s": round(self.mb_in / self.wall_seconds, 2) if self.wall_seconds > 0 else None,
                "workers": self.workers,
                "stages": {k: dict(v) for k, v in self.stages.items()},
            },
            "notes": list(self.notes),
            "config": self.config,
        }

    def to_json(self, indent: bool = True) -> str:
        opt = orjson.OPT_INDENT_2 if indent else 0
        return orjson.dumps(self.to_dict(), option=opt | orjson.OPT_NON_STR_KEYS, default=str).decode("utf-8")

    def to_markdown(self) -> str:
        d = self.to_dict()
        it = d["items"]
        lines = [
            "# Cleaning report",
            "",
            f"Started {self.started_at} · {self.workers} worker(s) · "
            f"{d['timing']['wall_seconds']} s · {d['timing']['mb_in']} MB"
            + (f" · {d['timing']['mb_per_s']} MB/s" if d["timing"]["mb_per_s"] else ""),
            "",
            "| items in | kept | removed | to review | changed |",
            "|---:|---:|---:|---:|---:|",
            f"| {it['in']} | {it['kept']} | {it['removed']} | {it['review']} | {it['changed']} |",
            "",
        ]
        if self.reference_texts or self.reference_texts_skipped:
            lines += [f"Reference texts compared: {self.reference_texts} (skipped: {self.reference_texts_skipped})", ""]
        lines += ["## Rules", "", "| rule | action | items | occurrences | meaning |", "|---|---|---:|---:|---|"]
        for rule, r in d["rules"].items():
            desc = RULES.get(rule, ("", (), ""))[2]
            lines.append(f"| `{_md_cell(rule)}` | {_md_cell(r.get('action'))} | {r.get('items', 0)} | {r.get('occurrences', 0)} | {_md_cell(desc)} |")
        if not d["rules"]:
            lines.append("| — | | 0 | 0 | nothing found |")
        lines += ["", "## Timing", "", "| stage | seconds | MB | MB/s |", "|---|---:|---:|---:|"]
        for st, v in d["timing"]["stages"].items():
            lines.append(f"| {_md_cell(st)} | {v.get('seconds', '')} | {v.get('mb', '')} | {v.get('mb_per_s', '')} |")
        if any(d["examples"].values()):
            lines += ["", "## Examples", ""]
            for rule, exs in d["examples"].items():
                if not exs:
                    continue
                lines += [f"### `{_md_cell(rule)}`", ""]
                for ex in exs:
                    head = ", ".join(f"{k}: {_md_cell(v)}" for k, v in ex.items() if k not in ("before", "after", "text", "duplicate_of_text"))
                    lines.append(f"- {head}")
                    for k in ("before", "after", "text", "duplicate_of_text"):
                        if k in ex:
                            lines.append(f"  - {k}: `{_md_cell(ex[k])}`")
                lines.append("")
        if self.notes:
            lines += ["", "## Notes", ""] + [f"- {_md_cell(n)}" for n in self.notes]
        return "\n".join(lines).rstrip() + "\n"

    def to_html(self) -> str:
        d = self.to_dict()
        e = lambda v: html.escape("" if v is None else str(v), quote=True)  # noqa: E731
        it = d["items"]
        out = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8"><title>Cleaning report</title>',
            "<style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:1em 0}"
            "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}td.n{text-align:right}"
            "code{background:#f4f4f4;white-space:pre-wrap;word-break:break-all}</style></head><body>",
            "<h1>Cleaning report</h1>",
            f"<p>Started {e(self.started_at)} · {e(self.workers)} worker(s) · {e(d['timing']['wall_seconds'])} s · "
            f"{e(d['timing']['mb_in'])} MB · {e(d['timing']['mb_per_s'])} MB/s</p>",
            "<table><tr><th>items in</th><th>kept</th><th>removed</th><th>to review</th><th>changed</th></tr>",
            f"<tr><td class=n>{e(it['in'])}</td><td class=n>{e(it['kept'])}</td><td class=n>{e(it['removed'])}</td>"
            f"<td class=n>{e(it['review'])}</td><td class=n>{e(it['changed'])}</td></tr></table>",
            "<h2>Rules</h2><table><tr><th>rule</th><th>action</th><th>items</th><th>occurrences</th><th>meaning</th></tr>",
        ]
        for rule, r in d["rules"].items():
            desc = RULES.get(rule, ("", (), ""))[2]
            out.append(
                f"<tr><td><code>{e(rule)}</code></td><td>{e(r.get('action'))}</td><td class=n>{e(r.get('items', 0))}</td>"
                f"<td class=n>{e(r.get('occurrences', 0))}</td><td>{e(desc)}</td></tr>"
            )
        out.append("</table><h2>Timing</h2><table><tr><th>stage</th><th>seconds</th><th>MB</th><th>MB/s</th></tr>")
        for st, v in d["timing"]["stages"].items():
            out.append(
                f"<tr><td>{e(st)}</td><td class=n>{e(v.get('seconds', ''))}</td><td class=n>{e(v.get('mb', ''))}</td>"
                f"<td class=n>{e(v.get('mb_per_s', ''))}</td></tr>"
            )
        out.append("</table>")
        if any(d["examples"].values()):
            out.append("<h2>Examples</h2>")
            for rule, exs in d["examples"].items():
                if not exs:
                    continue
                out.append(f"<h3><code>{e(rule)}</code></h3><ul>")
                for ex in exs:
                    head = ", ".join(f"{e(k)}: {e(v)}" for k, v in ex.items() if k not in ("before", "after", "text", "duplicate_of_text"))
                    out.append(f"<li>{head}")
                    for k in ("before", "after", "text", "duplicate_of_text"):
                        if k in ex:
                            out.append(f"<br>{e(k)}: <code>{e(ex[k])}</code>")
                    out.append("</li>")
                out.append("</ul>")
        if self.notes:
            out.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in self.notes) + "</ul>")
        out.append("</body></html>")
        return "\n".join(out)

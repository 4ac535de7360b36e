"""Text widgets and text cleaning on big inputs (run as a script, not collected by pytest).

    python tests/benchmarks/bench_text_widgets.py [--runs 5] [--clean-runs 3]

The inputs are those of the unit tests that used to time these operations
(tests/widgets/test_text_*.py, tests/workflow/clean/test_pipeline.py and
test_pii.py); the tests now check the mechanisms behind the speed, and the
figures live here. Each figure is the median of ``--runs`` runs (after one
warm-up run, on fresh widgets each time), printed

* as a ratio against a floor measured in the same run on the same text —
  what plain Qt or plain Python needs for the same job: a bare
  ``QPlainTextEdit.setPlainText``, one ``QTextDocument.find``, one
  ``re.finditer`` pass, a plain read of the text;
* in seconds against the goal the unit test used to assert, marked met or
  NOT met.

Goals (from the old assertions):

* SafeTextBrowser.set_markdown of 1.4 MB (shown as plain text): < 1.0 s
* set 1 MB in a SafeTextBrowser, open the find bar, find a rare term, go to
  the next match: < 1.0 s; then a very common term (58 000 matches): < 1.0 s
* TextAnswer: set_value of 1 MB < 1.0 s; ten keys typed at its end < 0.5 s
* SpanHighlighter: 1 MB text + 1,000 spans < 1.5 s; find from the middle < 1.0 s
* ConversationView: 200 turns (Markdown bubbles) set and painted < 1.0 s
* cleaning pipeline: one 10 MB item < 20 s
* PII detector: a text with 10,000 findings < 5 s

Rows without a goal split the figures: the first selection in a freshly
filled 1 MB document set through ``document().setPlainText`` (what
SafeTextBrowser.set_plain_text does) and through ``QTextEdit.setPlainText``;
the same find on a text set one event-loop pass earlier; set_spans right
after set_text and again on the same text. They show where time goes when
a goal is missed: the first selection (or extra selections) right after the
text is replaced pays for laying out the whole document.

Benchmarks are not timed tests: the exit code is 0 whatever the figures.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtGui import QTextCursor, QTextDocument  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QPlainTextEdit, QTextBrowser, QTextEdit, QVBoxLayout, QWidget  # noqa: E402

TESTS = Path(__file__).resolve().parents[1]


def _test_module(relative: str):
    """A test module by path, for its input builders (the same inputs as the tests)."""
    path = TESTS / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ------------------------------------------------------------------- the inputs
def find_text() -> str:
    rng = random.Random(7)
    words = "lorem ipsum dolor sit amet 👋🏽 élan مرحبا שלום needle".split()
    return "\n".join(" ".join(rng.choice(words) for _ in range(14)) for _ in range(14_000))


def markdown_text() -> str:
    from labeldesk.widgets.safe_text import MARKDOWN_LIMIT

    return ("**bold** and `code` " * 60 + "\n") * (MARKDOWN_LIMIT // 1000 * 6)


ANSWER_TEXT = ("A long answer with 👋🏽 and cafe\u0301 and مرحبا. " * 25 + "\n") * 1000
SPAN_PARA = "Claims 👋🏽 about café\u0301 and برج in 1899; " * 40 + "\n"
SPAN_TEXT = SPAN_PARA * (1_000_000 // len(SPAN_PARA) + 1)
PII_TEXT = " ".join(f"user{i}@example.com and 10.0.{i % 250}.{i % 200 + 1}" for i in range(5000))


def clean_items() -> list[dict]:
    tp = _test_module("workflow/clean/test_pipeline.py")
    rnd = random.Random(3)
    para = " ".join(rnd.choice(tp.VOCAB) for _ in range(2000))
    big = (para + "\n") * (10_000_000 // (len(para) + 1)) + " contact ops@example.com"
    return [tp.item(0, big), tp.item(1, tp.words(rnd, 30))]


# ------------------------------------------------------------------- measuring
def measure(setup: Callable[[], Any], op: Callable[[Any], Any], runs: int) -> float:
    """Median seconds of ``op(setup())``, setup not timed, after one warm-up run."""
    app = QApplication.instance()
    samples = []
    for k in range(runs + 1):
        state = setup()
        t0 = time.perf_counter()
        op(state)
        elapsed = time.perf_counter() - t0
        if k:
            samples.append(elapsed)
        _dispose(state)
        del state
        app.processEvents()
    return statistics.median(samples)


def _dispose(state: Any) -> None:
    """Hide and delete the run's widgets now, while their Python objects are
    alive (focus leaving a widget runs Python event filters)."""
    for w in state if isinstance(state, tuple) else (state,):
        if isinstance(w, QWidget):
            w.window().hide()
            w.window().deleteLater()


def shown(widget: QWidget, width: int = 640, height: int = 400) -> QWidget:
    widget.resize(width, height)
    widget.show()
    QApplication.processEvents()
    return widget


def with_find_bar(widget: QWidget, editor: QWidget | None = None) -> tuple[QWidget, Any, Any]:
    """(host, widget, bar): ``widget`` with a FindBar on ``editor`` (default:
    the widget itself) under it, shown as in the tests."""
    from labeldesk.widgets.safe_text import FindBar

    host = QWidget()
    layout = QVBoxLayout(host)
    layout.addWidget(widget)
    bar = FindBar(editor if editor is not None else widget)
    layout.addWidget(bar)
    shown(host, 700, 400)
    return host, widget, bar


def filled(cls, text: str):
    """A shown ``cls`` (QPlainTextEdit, QTextEdit …) holding ``text``."""
    w = shown(cls())
    w.setPlainText(text)
    QApplication.processEvents()
    return w


def via_widget(cls, text: str):
    """A shown ``cls`` given ``text`` by its own setPlainText, no event-loop pass after."""
    w = shown(cls())
    w.setPlainText(text)
    return w


def scan(term: str) -> Callable[[Any], int]:
    """The least a find that counts every match must do: read the document, one regex pass."""
    def op(doc: QTextDocument) -> int:
        return sum(1 for _m in re.finditer(re.escape(term), doc.toPlainText(), re.IGNORECASE))
    return op


def document(text: str) -> QTextDocument:
    doc = QTextDocument()
    doc.setPlainText(text)
    return doc


class Report:
    def __init__(self) -> None:
        self.missed: list[str] = []

    def section(self, title: str) -> None:
        print(f"\n== {title}")

    def floor(self, name: str, seconds: float) -> float:
        print(f"  floor: {name:<61} {seconds:8.3f} s")
        return seconds

    def reference(self, name: str, seconds: float) -> None:
        print(f"  {name:<68} {seconds:8.3f} s")

    def row(self, name: str, seconds: float, floor: float, goal: float | None = None) -> None:
        line = f"  {name:<68} {seconds:8.3f} s  ×floor {seconds / max(floor, 1e-6):7.1f}"
        if goal is not None:
            met = seconds < goal
            line += f"   goal < {goal:g} s: {'met' if met else 'NOT met'}"
            if not met:
                self.missed.append(name)
        print(line)


# ------------------------------------------------------------------- scenarios
def bench_safe_text(rep: Report, runs: int) -> None:
    from labeldesk.widgets.safe_text import SafeTextBrowser

    md = markdown_text()
    text = find_text()
    rep.section(f"SafeTextBrowser, Markdown over the limit ({len(md):,} chars) and plain text ({len(text):,} chars)")

    def plain_set(t):
        return lambda w: (w.setPlainText(t), QApplication.processEvents())

    floor_md = rep.floor("QPlainTextEdit.setPlainText of the Markdown + events",
                         measure(lambda: shown(QPlainTextEdit()), plain_set(md), runs))
    rep.row("set_markdown (plain-text fallback) + events", measure(
        lambda: shown(SafeTextBrowser()), lambda w: (w.set_markdown(md), QApplication.processEvents()), runs),
        floor_md, 1.0)
    floor_set = rep.floor("QPlainTextEdit.setPlainText of the 1 MB text + events",
                          measure(lambda: shown(QPlainTextEdit()), plain_set(text), runs))
    rep.row("set_plain_text + events", measure(
        lambda: shown(SafeTextBrowser()), lambda w: (w.set_plain_text(text), QApplication.processEvents()), runs),
        floor_set)

    rep.section("FindBar in the 1 MB SafeTextBrowser")

    doc = document(text)
    floor_needle = rep.floor("toPlainText + re.finditer('needle'): read and count once",
                             measure(lambda: doc, scan("needle"), runs))
    rep.reference("Qt's QTextDocument.find('needle'), first match only", measure(
        lambda: doc, lambda d: d.find("needle", 0), runs))
    floor_set_find = rep.floor("QPlainTextEdit.setPlainText + the read and count", floor_set + floor_needle)

    def rare(state):
        _host, editor, bar = state
        editor.set_plain_text(text)
        bar.open()
        bar.set_query("needle")
        bar.find_next()
        QApplication.processEvents()

    rep.row("set_plain_text + open + find 'needle' + next + events", measure(
        lambda: with_find_bar(SafeTextBrowser()), rare, runs), floor_set_find, 1.0)

    def filled_bar():
        host, editor, bar = with_find_bar(SafeTextBrowser())
        editor.set_plain_text(text)
        QApplication.processEvents()
        bar.open()
        return host, editor, bar

    def search(term: str):
        def op(state):
            state[2].set_query(term)
            QApplication.processEvents()
        return op

    rep.row("  the same search on a text set one event-loop pass earlier", measure(filled_bar, search("needle"), runs),
            floor_needle)

    def searched():
        state = filled_bar()
        state[2].set_query("needle")
        return state

    count = len(re.findall("o", text, re.IGNORECASE))
    floor_re = rep.floor(f"toPlainText + re.finditer('o') ({count:,} matches)",
                         measure(lambda: doc, scan("o"), runs))
    rep.row("set_query('o'), every match counted, visible ones highlighted", measure(searched, search("o"), runs),
            floor_re, 1.0)

    first = text.index("needle")

    def select_first(w):
        cursor = QTextCursor(w.document())
        cursor.setPosition(first)
        cursor.setPosition(first + 6, QTextCursor.MoveMode.KeepAnchor)
        w.setTextCursor(cursor)

    def via_document():
        w = shown(QTextBrowser())
        w.document().setPlainText(text)
        return w

    rep.reference("diagnosis: first setTextCursor right after document().setPlainText",
                  measure(via_document, select_first, runs))
    rep.reference("diagnosis: first setTextCursor right after QTextEdit.setPlainText",
                  measure(lambda: via_widget(QTextBrowser, text), select_first, runs))


def bench_answer(rep: Report, runs: int) -> None:
    from labeldesk.widgets.text_answer import TextAnswer

    text = ANSWER_TEXT
    rep.section(f"TextAnswer, {len(text):,} chars")
    floor_set = rep.floor("QPlainTextEdit.setPlainText + events", measure(
        lambda: shown(QPlainTextEdit()), lambda w: (w.setPlainText(text), QApplication.processEvents()), runs))
    rep.row("set_value + events", measure(
        lambda: shown(TextAnswer()), lambda w: (w.set_value(text), QApplication.processEvents()), runs), floor_set, 1.0)

    def at_end(editor: QPlainTextEdit) -> QPlainTextEdit:
        editor.setFocus()
        editor.moveCursor(QTextCursor.MoveOperation.End)
        return editor

    def typed(editor: QPlainTextEdit) -> None:
        QTest.keyClicks(editor, "abcdefghij")

    floor_keys = rep.floor("ten keys at the end of a bare QPlainTextEdit",
                           measure(lambda: at_end(filled(QPlainTextEdit, text)), typed, runs))

    def answer_at_end():
        answer = shown(TextAnswer())
        answer.set_value(text)
        QApplication.processEvents()
        return at_end(answer.editor)

    rep.row("ten keys at the end (recount deferred to the pause)", measure(answer_at_end, typed, runs), floor_keys, 0.5)


def bench_spans(rep: Report, runs: int) -> None:
    from labeldesk.widgets.spans import SpanHighlighter

    text = SPAN_TEXT
    step = len(text) // 1000
    spans = [{"target": "responses.b", "start": k * step, "end": k * step + 5, "label": "factual-error"}
             for k in range(1000)]
    rep.section(f"SpanHighlighter, {len(text):,} chars, 1,000 spans")
    floor_set = rep.floor("QTextEdit.setPlainText + events", measure(
        lambda: shown(QTextEdit()), lambda w: (w.setPlainText(text), QApplication.processEvents()), runs))

    def set_all(state):
        w = state[1]
        w.set_labels(["unsupported-claim", "factual-error", "off-topic"])
        w.set_text("responses.b", text)
        w.set_spans(spans)
        QApplication.processEvents()

    def highlighter():
        w = SpanHighlighter()
        return with_find_bar(w, w.view)

    rep.row("set_labels + set_text + set_spans(1000) + events", measure(highlighter, set_all, runs), floor_set, 1.5)

    def text_set():
        state = highlighter()
        state[1].set_text("responses.b", text)
        return state

    def text_shown():
        state = text_set()
        set_all(state)  # the same spans again: only the drawing is left to time
        return state

    def spans_only(state):
        state[1].set_spans(spans)
        QApplication.processEvents()

    rep.row("  of which set_spans(1000) + events, right after set_text", measure(text_set, spans_only, runs), floor_set)
    rep.row("  set_spans(1000) + events again on the same text", measure(text_shown, spans_only, runs), floor_set)

    from labeldesk.widgets.text_offsets import OffsetMap

    needle_at = text.index("1899", len(text) // 2)
    middle = OffsetMap(text).to_utf16(needle_at)

    def filled_spans():
        state = highlighter()
        set_all(state)
        cursor = QTextCursor(state[1].view.document())
        cursor.setPosition(middle)
        state[1].view.setTextCursor(cursor)
        return state

    def find_middle(state):
        bar = state[2]
        bar.open()
        bar.set_query("1899")

    doc = document(text)
    floor_find = rep.floor("toPlainText + re.finditer('1899'): read and count once",
                           measure(lambda: doc, scan("1899"), runs))
    rep.row("open the find bar + find '1899' from the middle", measure(filled_spans, find_middle, runs),
            floor_find, 1.0)
    rep.reference("Qt's QTextDocument.find('1899') from the middle, one match", measure(
        lambda: doc, lambda d: d.find("1899", middle), runs))


def bench_conversation(rep: Report, runs: int) -> None:
    from labeldesk.widgets.conversation import ConversationView

    messages = _test_module("widgets/test_text_conversation.py").long_dialogue(200)
    probe = ConversationView()
    probe.set_messages(messages)
    plain = probe.text_edit().toPlainText()
    rep.section(f"ConversationView, {len(messages)} messages ({len(plain):,} chars shown)")

    def grab_after(fill):
        def op(w):
            fill(w)
            (w.viewport() if isinstance(w, QTextBrowser) else w.browser.viewport()).grab()
        return op

    floor = rep.floor("QTextBrowser.setPlainText of the same text + paint", measure(
        lambda: shown(QTextBrowser()), grab_after(lambda w: w.setPlainText(plain)), runs))
    rep.row("set_messages (bubbles, Markdown) + paint", measure(
        lambda: shown(ConversationView()), grab_after(lambda w: w.set_messages(messages)), runs), floor, 1.0)


def bench_clean(rep: Report, runs: int) -> None:
    from labeldesk.app.workflow.clean import run_pipeline
    from labeldesk.app.workflow.clean.config import CleanConfig
    from labeldesk.app.workflow.clean.pii import PiiDetector

    items = clean_items()
    big = items[0]["messages"][0]["content"]
    rep.section(f"cleaning: one item of {len(big):,} chars (+ one small item)")
    floor = rep.floor("plain read of the text (UTF-8 encode + split into words)", measure(
        lambda: None, lambda _s: (big.encode("utf-8"), big.split()), runs))
    rep.row("run_pipeline", measure(lambda: None, lambda _s: run_pipeline(items), runs), floor, 20.0)

    rep.section(f"PII detector: {len(PII_TEXT):,} chars, 10,000 findings (5,000 e-mails, 5,000 IPv4)")
    email, ipv4 = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
    floor = rep.floor("re.finditer: a plain e-mail and a plain IPv4 pattern", measure(
        lambda: None, lambda _s: (list(email.finditer(PII_TEXT)), list(ipv4.finditer(PII_TEXT))), runs))
    det = PiiDetector(CleanConfig.default())
    rep.row("PiiDetector.find (all detectors, overlaps resolved)",
            measure(lambda: None, lambda _s: det.find(PII_TEXT), runs), floor, 5.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs per widget figure (median; one more as warm-up)")
    ap.add_argument("--clean-runs", type=int, default=3, help="runs per cleaning figure (the 10 MB item is slow)")
    args = ap.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    print(f"median of {args.runs} runs per widget figure, {args.clean_runs} per cleaning figure "
          f"(after one warm-up run); {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    rep = Report()
    bench_safe_text(rep, args.runs)
    bench_answer(rep, args.runs)
    bench_spans(rep, args.runs)
    bench_conversation(rep, args.runs)
    bench_clean(rep, args.clean_runs)
    app.processEvents()
    print("\nresult:", "every old goal met" if not rep.missed else "goals NOT met: " + "; ".join(rep.missed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

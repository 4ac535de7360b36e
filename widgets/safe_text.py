"""Showing untrusted text: Markdown without HTML or resources, find, position.

Everything LabelDesk shows comes from datasets nobody vetted: model output,
scraped prompts, user uploads. Qt's rich text never runs scripts, but it does
load images (remote through a resource provider, and *local files* by itself
when a loader returns nothing) and renders raw HTML embedded in Markdown. So:

* `SafeDocument` answers every resource request itself and records what was
  asked for: images get a small "blocked image" placeholder, anything else an
  empty byte array. The answer must be a *valid, decodable* value: for a null
  one QTextDocument reads local files itself, and for an image that does not
  decode Qt's image handler calls ``QImage.load(path)`` on ``file:`` URLs,
  bypassing every loader;
* Markdown is parsed with ``MarkdownNoHTML``: ``<script>`` or ``<img>`` in a
  response shows as the literal text the model wrote, which is also what an
  annotator judging that response needs to see;
* links are never followed: `SafeTextBrowser` only emits ``linkActivated``.

`FindBar` searches the plain text in Python (one regex pass, far faster than
looping ``QTextDocument.find`` over a 1 MB document) and highlights only the
matches on screen, so a term with 100 000 hits costs no more to show than one
with ten.
"""
from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right

from PySide6.QtCore import QByteArray, QEvent, QObject, QPoint, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QImage,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextBrowser,
    QTextEdit,
    QToolButton,
    QWidget,
)
from shiboken6 import isValid

from labeldesk.widgets.text_offsets import OffsetMap, display_text, set_selection_layer

__all__ = [
    "MARKDOWN_LIMIT",
    "SafeDocument",
    "SafeTextBrowser",
    "blocked_image",
    "render_markdown",
    "style_code_blocks",
    "monospace_families",
    "FindBar",
    "PositionIndicator",
]

#: above this many characters Markdown is shown as plain text: parsing and
#: laying out a megabyte of Markdown takes about a second on the GUI thread
MARKDOWN_LIMIT = 200_000

_MD_FEATURES = (
    QTextDocument.MarkdownFeature.MarkdownDialectGitHub
    | QTextDocument.MarkdownFeature.MarkdownNoHTML
)
_CODE_BACKGROUND = QColor("#f0f2f5")
# a list that grows forever would be a leak on a long session; the first
# few are enough to tell what a document tried to load
_MAX_RECORDED = 100


def monospace_families() -> list[str]:
    """Font families for code, the platform's fixed font first."""
    fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()
    out = [fixed] if fixed else []
    out += [f for f in ("DejaVu Sans Mono", "Noto Sans Mono", "Consolas", "Menlo", "monospace") if f not in out]
    return out


class SafeDocument(QTextDocument):
    """A QTextDocument that loads nothing: no images, no style sheets, no
    pages, whatever the URL scheme (http, https, file, qrc, data)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.blocked_urls: list[str] = []

    def loadResource(self, type: int, name: QUrl) -> QByteArray | QImage:  # noqa: A002,N802 (Qt API)
        _record(self.blocked_urls, name)
        answer = _blocked_answer(type)
        # remember the answer so every repaint does not ask again
        self.addResource(type, name, answer)
        return answer


_PLACEHOLDER: list[QImage] = []


def blocked_image() -> QImage:
    """What an image in untrusted content shows instead: a small grey frame
    with a cross, so the reader knows something was there."""
    if not _PLACEHOLDER:
        img = QImage(22, 18, QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(QColor("#eceef1"))
        p = QPainter(img)
        p.setPen(QColor("#9aa0a9"))
        p.drawRect(0, 0, 21, 17)
        p.drawLine(6, 5, 15, 12)
        p.drawLine(15, 5, 6, 12)
        p.end()
        _PLACEHOLDER.append(img)
    return _PLACEHOLDER[0]


def _blocked_answer(type: int) -> QByteArray | QImage:  # noqa: A002
    # a decodable image: for one that does not decode, Qt's image handler
    # loads file: URLs from disk by itself
    if int(type) == int(QTextDocument.ResourceType.ImageResource):
        return blocked_image()
    return QByteArray()


def _record(seen: list[str], url: QUrl) -> None:
    text = url.toString()
    if len(seen) < _MAX_RECORDED and text not in seen:
        seen.append(text)


def style_code_blocks(doc: QTextDocument) -> None:
    """Monospace and a tinted background for code blocks and inline code.

    Qt's Markdown importer only names the generic "monospace" family, which
    some platforms do not resolve to a fixed-pitch font.
    """
    families = monospace_families()
    code_chars = QTextCharFormat()
    code_chars.setFontFamilies(families)
    code_chars.setFontFixedPitch(True)
    code_chars.setFontStyleHint(QFont.StyleHint.TypeWriter)
    inline = QTextCharFormat(code_chars)
    inline.setBackground(_CODE_BACKGROUND)
    code_block = QTextBlockFormat()
    code_block.setBackground(_CODE_BACKGROUND)
    cursor = QTextCursor(doc)
    cursor.beginEditBlock()
    block = doc.begin()
    while block.isValid():
        fmt = block.blockFormat()
        if fmt.hasProperty(QTextFormat.Property.BlockCodeFence) or fmt.hasProperty(
            QTextFormat.Property.BlockCodeLanguage
        ):
            cursor.setPosition(block.position())
            cursor.setPosition(block.position() + max(0, block.length() - 1), QTextCursor.MoveMode.KeepAnchor)
            cursor.mergeBlockFormat(code_block)
            cursor.mergeCharFormat(code_chars)
        else:
            it = block.begin()
            while not it.atEnd():
                frag = it.fragment()
                if frag.isValid() and frag.charFormat().fontFixedPitch():
                    cursor.setPosition(frag.position())
                    cursor.setPosition(frag.position() + frag.length(), QTextCursor.MoveMode.KeepAnchor)
                    cursor.mergeCharFormat(inline)
                it += 1
        block = block.next()
    cursor.endEditBlock()


def _safe_document(view: QTextEdit) -> SafeDocument:
    doc = view.document()
    if isinstance(doc, SafeDocument):
        return doc
    safe = SafeDocument(view)
    safe.setDefaultFont(doc.defaultFont())
    safe.setDocumentMargin(doc.documentMargin())
    view.setDocument(safe)
    return safe


def render_markdown(view: QTextEdit, text: str | None) -> None:
    """Show ``text`` as Markdown in ``view`` (any QTextEdit or QTextBrowser),
    safely: raw HTML stays literal text, nothing is ever loaded, code is
    monospaced. Very long texts are shown as plain text (see MARKDOWN_LIMIT)."""
    doc = _safe_document(view)
    text = text or ""
    if len(text) > MARKDOWN_LIMIT:
        doc.setPlainText(display_text(text))
        return
    doc.setMarkdown(text, _MD_FEATURES)
    style_code_blocks(doc)


class SafeTextBrowser(QTextBrowser):
    """A read-only view of untrusted Markdown or plain text.

    Loads no resources (remote or local), never follows links (clicking one
    only emits ``linkActivated(url)``), and renders Markdown without HTML.
    """

    linkActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._blocked: list[str] = []
        doc = SafeDocument(self)
        doc.setUndoRedoEnabled(False)  # a viewer: undo history is only memory
        self.setDocument(doc)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(lambda url: self.linkActivated.emit(url.toString()))

    # --- content ----------------------------------------------------------------

    def set_markdown(self, text: str | None) -> None:
        render_markdown(self, text)

    def set_plain_text(self, text: str | None) -> None:
        self.document().setPlainText(display_text(text or ""))

    def setMarkdown(self, markdown: str) -> None:  # noqa: N802 (Qt API)
        # Qt's own setMarkdown keeps raw HTML: route Python callers to ours
        self.set_markdown(markdown)

    @property
    def blocked_urls(self) -> list[str]:
        """Resources the content asked for and did not get (first 100 distinct)."""
        doc = self.document()
        from_doc = doc.blocked_urls if isinstance(doc, SafeDocument) else []
        return self._blocked + [u for u in from_doc if u not in self._blocked]

    # --- never load anything --------------------------------------------------------

    def loadResource(self, type: int, name: QUrl) -> QByteArray | QImage:  # noqa: A002,N802 (Qt API)
        # reached through setSource(); the document's own loader covers images
        _record(self._blocked, name)
        return _blocked_answer(type)

    def doSetSource(self, name: QUrl, type: QTextDocument.ResourceType = QTextDocument.ResourceType.UnknownResource) -> None:  # noqa: A002,N802
        # navigation is the app's decision (clicks already reach it through
        # linkActivated): never load a page in place
        return


# --- find -------------------------------------------------------------------------


class FindBar(QFrame):
    """Find in a QTextEdit, QPlainTextEdit or QTextBrowser.

    Ctrl+F in the editor (or `open()`) shows it; Enter / Shift+Enter (and
    F3 / Shift+F3) go to the next / previous match, Esc closes. Put it in a
    layout next to the editor, or leave it without a parent: it then floats
    over the editor's top-right corner.
    """

    #: at most this many matches get an extra selection (the visible ones)
    MAX_HIGHLIGHTS = 500
    #: counting stops here ("100000+ matches")
    MAX_MATCHES = 100_000

    #: (current match index, 0-based or -1; number of matches)
    matchesChanged = Signal(int, int)
    closed = Signal()

    _LAYER = "find"

    def __init__(self, editor: QTextEdit | QPlainTextEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._editor = editor
        self._starts: list[int] = []  # code points
        self._ends: list[int] = []
        self._capped = False
        self._current = -1
        self._text: str | None = None
        self._map: OffsetMap | None = None
        self._doc: QTextDocument | None = None

        self.setObjectName("FindBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.query = QLineEdit(self)
        self.query.setPlaceholderText("Find")
        self.query.setClearButtonEnabled(True)
        self.query.setMinimumWidth(180)
        self.count_label = QLabel(self)
        self.count_label.setMinimumWidth(90)
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.prev_button = self._tool("▲", "Previous match (Shift+Enter)", self.find_previous)
        self.next_button = self._tool("▼", "Next match (Enter)", self.find_next)
        self.case_button = self._tool("Aa", "Match case", self._search_now)
        self.case_button.setCheckable(True)
        self.close_button = self._tool("✕", "Close (Esc)", self.dismiss)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 3, 3, 3)
        row.setSpacing(3)
        row.addWidget(self.query, 1)
        row.addWidget(self.count_label)
        for b in (self.prev_button, self.next_button, self.case_button, self.close_button):
            row.addWidget(b)

        # typing is debounced so a fast typist on a big document searches once
        self._search_timer = QTimer(self, singleShot=True, interval=120)
        self._search_timer.timeout.connect(self._search_now)
        self._highlight_timer = QTimer(self, singleShot=True, interval=30)
        self._highlight_timer.timeout.connect(self._highlight)
        self.query.textChanged.connect(lambda _t: self._search_timer.start())
        self.query.installEventFilter(self)
        editor.installEventFilter(self)
        # bound methods, not lambdas: Qt drops these connections when the bar
        # is deleted before the editor
        editor.verticalScrollBar().valueChanged.connect(self._schedule_highlight)
        self._watch_document()
        self.hide()

    def _tool(self, text: str, tip: str, slot) -> QToolButton:
        b = QToolButton(self)
        b.setText(text)
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        b.clicked.connect(lambda _checked=False: slot())
        return b

    # --- public ---------------------------------------------------------------------

    def editor(self) -> QTextEdit | QPlainTextEdit:
        return self._editor

    def open(self, text: str | None = None) -> None:
        """Show the bar and focus its query (pre-filled with ``text``, or the
        editor's one-line selection)."""
        if not self._alive():
            return
        if text is None:
            selected = self._editor.textCursor().selectedText()
            if selected and len(selected) < 200 and "\u2029" not in selected:
                text = selected
        if self.parentWidget() is None:
            self.setParent(self._editor)  # float over the editor
        if text is not None and text != self.query.text():
            self.query.setText(text)
        self.show()
        self.raise_()
        self._place()
        self.query.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.query.selectAll()
        if self.query.text():
            self._search_now()

    def dismiss(self) -> None:
        """Hide the bar, drop the highlights, give the keyboard back."""
        self._search_timer.stop()
        if self._alive():
            set_selection_layer(self._editor, self._LAYER, [])
            if self.isVisible():
                self._editor.setFocus(Qt.FocusReason.OtherFocusReason)
        self.hide()
        self.closed.emit()

    def set_query(self, text: str) -> None:
        """Search for ``text`` now (no debounce)."""
        self.query.setText(text)
        self._search_now()

    def match_count(self) -> int:
        return len(self._starts)

    def current_index(self) -> int:
        return self._current

    def current_match(self) -> tuple[int, int] | None:
        """(start, end) of the current match in code points."""
        if self._current < 0:
            return None
        return self._starts[self._current], self._ends[self._current]

    def find_next(self) -> None:
        self._step(+1)

    def find_previous(self) -> None:
        self._step(-1)

    # --- searching ----------------------------------------------------------------

    def _alive(self) -> bool:
        return isValid(self._editor)

    def _watch_document(self) -> None:
        doc = self._editor.document()
        if doc is not self._doc:
            self._doc = doc
            doc.contentsChanged.connect(self._invalidate)
            self._invalidate()

    def _invalidate(self) -> None:
        self._text = None
        self._map = None
        if self.isVisible() and self.query.text():
            self._search_timer.start()

    def _plain(self) -> tuple[str, OffsetMap]:
        self._watch_document()  # the editor may have been given another document
        if self._text is None or self._map is None:
            # toPlainText keeps one character per document position
            self._text = self._editor.document().toPlainText()
            self._map = OffsetMap(self._text)
        return self._text, self._map

    def _search_now(self) -> None:
        self._search_timer.stop()
        if not self._alive():
            return
        needle = self.query.text()
        self._starts, self._ends, self._capped, self._current = [], [], False, -1
        if needle:
            text, omap = self._plain()
            flags = 0 if self.case_button.isChecked() else re.IGNORECASE
            for m in re.finditer(re.escape(needle), text, flags):
                self._starts.append(m.start())
                self._ends.append(m.end())
                if len(self._starts) >= self.MAX_MATCHES:
                    self._capped = True
                    break
            if self._starts:
                # the first match at or after where the reader is
                anchor = omap.to_cp(self._editor.textCursor().selectionStart())
                self._current = bisect_left(self._starts, anchor) % len(self._starts)
        self._show_current()

    def _step(self, delta: int) -> None:
        if self._search_timer.isActive() or (self.query.text() and self._text is None):
            self._search_now()  # typed but not searched yet: land on the first match
            return
        if not self._starts:
            return
        self._current = (self._current + delta) % len(self._starts)
        self._show_current()

    def _show_current(self) -> None:
        if not self._alive():
            return
        n = len(self._starts)
        if n == 0:
            self.count_label.setText("No results" if self.query.text() else "")
            self.count_label.setStyleSheet("color: #b3261e;" if self.query.text() else "")
        else:
            more = "+" if self._capped else ""
            self.count_label.setText(f"{self._current + 1} of {n}{more}")
            self.count_label.setStyleSheet("")
            _text, omap = self._plain()
            cursor = QTextCursor(self._editor.document())
            cursor.setPosition(omap.to_utf16(self._starts[self._current]))
            cursor.setPosition(omap.to_utf16(self._ends[self._current]), QTextCursor.MoveMode.KeepAnchor)
            self._editor.setTextCursor(cursor)
            self._editor.ensureCursorVisible()
            self._uncover(cursor)
        self._highlight()
        self.matchesChanged.emit(self._current, n)

    def _schedule_highlight(self, *_args: object) -> None:
        if self._starts and self.isVisible():
            self._highlight_timer.start()

    def _highlight(self) -> None:
        """Extra selections for the matches on screen (and the current one)."""
        if not self._alive():
            return
        if not self._starts:
            set_selection_layer(self._editor, self._LAYER, [])
            return
        _text, omap = self._plain()
        viewport = self._editor.viewport()
        first = omap.to_cp(self._editor.cursorForPosition(QPoint(0, 0)).position())
        last = omap.to_cp(
            self._editor.cursorForPosition(QPoint(viewport.width(), viewport.height())).position()
        )
        # a match that began above the top edge may still show
        lo = max(0, bisect_left(self._ends, first))
        hi = min(bisect_right(self._starts, last), lo + self.MAX_HIGHLIGHTS)
        indices = list(range(lo, hi))
        if self._current >= 0 and not lo <= self._current < hi:
            indices.append(self._current)
        doc = self._editor.document()
        selections = []
        for i in indices:
            sel = QTextEdit.ExtraSelection()
            cursor = QTextCursor(doc)
            cursor.setPosition(omap.to_utf16(self._starts[i]))
            cursor.setPosition(omap.to_utf16(self._ends[i]), QTextCursor.MoveMode.KeepAnchor)
            sel.cursor = cursor
            fmt = QTextCharFormat()
            # explicit dark text: the tints must read on light and dark themes
            fmt.setBackground(QColor("#ff9632" if i == self._current else "#ffe45c"))
            fmt.setForeground(QColor("#000000"))
            sel.format = fmt
            selections.append(sel)
        set_selection_layer(self._editor, self._LAYER, selections)

    # --- placement and keys -------------------------------------------------------

    def _place(self) -> None:
        """When floating over the editor: its top-right corner, clear of the scroll bar."""
        if self.parentWidget() is not self._editor:
            return
        self.adjustSize()
        sb = self._editor.verticalScrollBar()
        sb_width = sb.width() if sb.isVisible() else 0
        frame = self._editor.frameWidth()
        width = min(max(self.sizeHint().width(), 320), max(120, self._editor.width() - sb_width - 2 * frame - 8))
        self.resize(width, self.sizeHint().height())
        self.move(self._editor.width() - sb_width - frame - width - 4, frame + 4)

    def _uncover(self, cursor: QTextCursor) -> None:
        """A floating bar must not hide the match it found: scroll the match
        below it, or move the bar to the bottom when the text cannot scroll."""
        if self.parentWidget() is not self._editor:
            return
        self._place()
        viewport = self._editor.viewport()
        rect = self._editor.cursorRect(cursor)
        top_left = viewport.mapTo(self._editor, rect.topLeft())
        bottom = self.geometry().bottom() + 4
        if top_left.y() > bottom:
            return
        sb = self._editor.verticalScrollBar()
        needed = bottom - top_left.y()
        if sb.value() - sb.minimum() >= needed:
            sb.setValue(sb.value() - needed)
        else:
            self.move(self.x(), self._editor.height() - self._editor.frameWidth() - self.height() - 4
                      - (self._editor.horizontalScrollBar().height() if self._editor.horizontalScrollBar().isVisible() else 0))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        etype = event.type()
        if obj is self._editor:
            if etype == QEvent.Type.ShortcutOverride and self._editor_key(event) is not None:
                event.accept()  # ours while the editor has focus, not a window shortcut's
                return True
            if etype == QEvent.Type.KeyPress:
                action = self._editor_key(event)
                if action is not None:
                    action()
                    return True
            elif etype == QEvent.Type.Resize and self.isVisible():
                self._place()
                self._schedule_highlight()
        elif obj is self.query and etype == QEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                    self.find_previous()
                else:
                    self.find_next()
                return True
            if key == Qt.Key.Key_Escape:
                self.dismiss()
                return True
            if event.matches(QKeySequence.StandardKey.FindNext):
                self.find_next()
                return True
            if event.matches(QKeySequence.StandardKey.FindPrevious):
                self.find_previous()
                return True
        elif obj is self.query and etype == QEvent.Type.ShortcutOverride:
            if event.key() == Qt.Key.Key_Escape or event.matches(QKeySequence.StandardKey.FindNext) or event.matches(
                QKeySequence.StandardKey.FindPrevious
            ):
                event.accept()
                return True
        return super().eventFilter(obj, event)

    def _editor_key(self, event: QKeyEvent):
        """The bar's action for a key pressed in the editor, or None."""
        if event.matches(QKeySequence.StandardKey.Find):
            return self.open
        if not self.isVisible():
            return None
        if event.matches(QKeySequence.StandardKey.FindNext):
            return self.find_next
        if event.matches(QKeySequence.StandardKey.FindPrevious):
            return self.find_previous
        if event.key() == Qt.Key.Key_Escape and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            return self.dismiss
        return None


class PositionIndicator(QLabel):
    """"page 3 of 17 · 14%" for a scroll area (a page is one viewport height),
    updated as it scrolls, resizes or its content grows. Works in the scroll
    bar's units, so pixels (QTextEdit) and lines (QPlainTextEdit) alike."""

    def __init__(self, area: QAbstractScrollArea, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._area = area
        self.setObjectName("PositionIndicator")
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        sb = area.verticalScrollBar()
        sb.valueChanged.connect(self.refresh)  # bound: disconnected when we go
        sb.rangeChanged.connect(self.refresh)
        # a resize changes the page size, not always the range; the scroll
        # bar is adjusted after the viewport's resize event, so read it later
        self._later = QTimer(self, singleShot=True, interval=0)
        self._later.timeout.connect(self.refresh)
        area.viewport().installEventFilter(self)
        self.refresh()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.Resize:
            self._later.start()
        return False

    def position(self) -> tuple[int, int, int]:
        """(page, pages, percent) — page is 1-based."""
        if not isValid(self._area):
            return 1, 1, 100
        sb = self._area.verticalScrollBar()
        page_px = max(1, sb.pageStep())
        maximum = max(0, sb.maximum() - sb.minimum())
        value = sb.value() - sb.minimum()
        pages = max(1, math.ceil((maximum + page_px) / page_px))
        if maximum == 0:
            return 1, pages, 100
        page = pages if value >= maximum else min(pages, round(value / page_px) + 1)
        return page, pages, round(100 * value / maximum)

    def refresh(self, *_args: object) -> None:
        page, pages, percent = self.position()
        self.setText(f"page {page} of {pages} · {percent}%")

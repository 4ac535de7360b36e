"""Keyboard presets and the rule that typing always wins over shortcuts.

Presets are plain dicts: action name -> tuple of key sequences in
``QKeySequence`` portable text ("Ctrl+Space", "Shift+Left", "F11"). An empty
tuple means the tool has no default key for that action. The app turns a
preset into its QActions/QShortcuts; the panes only read the few actions
they handle while they have focus (zoom, set start/end, frame steps) through
``set_key_map``.

Where the presets come from (each tool's shipped defaults):

* **labeldesk** (ours): bare Space plays/pauses *outside* text fields and
  Ctrl+Space everywhere; Shift+Left/Right jump 1 s and Ctrl+Left/Right step a
  frame as in ELAN; Ctrl+Shift+Left/Right step keyframes; ``[`` / ``]`` mark
  start/end; Ctrl+E / Ctrl+Shift+F zoom to selection / fit as in Audacity.
* **elan** (ELAN 6 defaults): Ctrl+Space play/pause, Shift+Space play
  selection, Shift+Left/Right one second, Ctrl+Left/Right one frame,
  Ctrl+= / Ctrl+- zoom the timeline. Segmentation mode marks boundaries with
  Enter; in its two-keystroke mode the first Enter is the begin and the
  second the end, which is why set_start and set_end share "Return" here (the
  waveform alternates start/end when both actions have the same key). ELAN has
  no keyframe stepping, and loop mode and the rate slider have no default key.
  (Checked against ELAN's manual and a user cheat sheet, not its source: the
  cheat sheet gives Ctrl+0 for "play selection" on Linux, so verify
  play_selection and the zoom keys against the ELAN version your annotators use.)
* **aegisub** (Aegisub 3.x default_hotkey.json): Ctrl+P plays video, in the
  audio box S or Space plays the selection and B toggles; Left/Right step a
  frame and Shift+Left/Right a keyframe (video and grid contexts);
  Alt+Left/Right jump 10 frames (the closest thing to a seek); Ctrl+3 / Ctrl+4
  snap start / end to the video frame. No default zoom key for the audio
  display, no loop key, and no playback rate at all.
* **subtitle-edit** (Subtitle Edit 4 Shortcuts.cs defaults): Ctrl+P
  play/pause, Alt+Left/Right 500 ms, F11 / F12 set start / end, F5 play the
  selected lines; the waveform zooms with keypad +/-. Frame steps, shot-change
  (keyframe) steps, loop and speed exist but ship unbound.

The main differences: ELAN and LabelDesk use modified arrows for frames, Aegisub
uses *bare* arrows (so they must not fire while a text field has focus, see
`TextInputGuard`); Aegisub and Subtitle Edit have no bare play key in text
fields (Ctrl+P); only LabelDesk binds rate keys by default.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence

__all__ = [
    "ACTIONS",
    "EXTRA_ACTIONS",
    "PRESETS",
    "DEFAULT_PRESET",
    "preset",
    "conflicts",
    "key_matches",
    "is_text_input",
    "TextInputGuard",
]

#: the actions every preset names (an empty tuple = no default key)
ACTIONS: tuple[str, ...] = (
    "play_pause",
    "seek_back",
    "seek_forward",
    "frame_prev",
    "frame_next",
    "keyframe_prev",
    "keyframe_next",
    "set_start",
    "set_end",
    "zoom_in",
    "zoom_out",
    "loop_region",
    "play_selection",
    "rate_up",
    "rate_down",
)

#: LabelDesk-only pane actions, merged into every preset where the tool's
#: own keys leave them free
EXTRA_ACTIONS: dict[str, tuple[str, ...]] = {
    "zoom_selection": ("Ctrl+E",),
    "zoom_fit": ("Ctrl+Shift+F",),
    "delete_region": ("Delete",),
    "toggle_spectrogram": ("Alt+S",),
    "split_turn": ("Ctrl+Return",),
    "merge_turn": ("Ctrl+M",),
}

_LABELDESK = {
    "play_pause": ("Space", "Ctrl+Space"),
    "seek_back": ("Shift+Left",),
    "seek_forward": ("Shift+Right",),
    "frame_prev": ("Ctrl+Left",),
    "frame_next": ("Ctrl+Right",),
    "keyframe_prev": ("Ctrl+Shift+Left",),
    "keyframe_next": ("Ctrl+Shift+Right",),
    "set_start": ("[",),
    "set_end": ("]",),
    "zoom_in": ("Ctrl++", "Ctrl+=", "+", "="),
    "zoom_out": ("Ctrl+-", "-"),
    "loop_region": ("Ctrl+L",),
    "play_selection": ("Shift+Space",),
    "rate_up": ("Ctrl+Up",),
    "rate_down": ("Ctrl+Down",),
}

_ELAN = {
    "play_pause": ("Ctrl+Space",),
    "seek_back": ("Shift+Left",),
    "seek_forward": ("Shift+Right",),
    "frame_prev": ("Ctrl+Left",),
    "frame_next": ("Ctrl+Right",),
    "keyframe_prev": (),
    "keyframe_next": (),
    "set_start": ("Return",),
    "set_end": ("Return",),
    "zoom_in": ("Ctrl+=",),
    "zoom_out": ("Ctrl+-",),
    "loop_region": (),
    "play_selection": ("Shift+Space",),
    "rate_up": (),
    "rate_down": (),
}

_AEGISUB = {
    "play_pause": ("Ctrl+P", "B"),
    "seek_back": ("Alt+Left",),
    "seek_forward": ("Alt+Right",),
    "frame_prev": ("Left",),
    "frame_next": ("Right",),
    "keyframe_prev": ("Shift+Left",),
    "keyframe_next": ("Shift+Right",),
    "set_start": ("Ctrl+3",),
    "set_end": ("Ctrl+4",),
    "zoom_in": (),
    "zoom_out": (),
    "loop_region": (),
    "play_selection": ("S", "Space"),
    "rate_up": (),
    "rate_down": (),
}

_SUBTITLE_EDIT = {
    "play_pause": ("Ctrl+P",),
    "seek_back": ("Alt+Left",),
    "seek_forward": ("Alt+Right",),
    "frame_prev": (),
    "frame_next": (),
    "keyframe_prev": (),
    "keyframe_next": (),
    "set_start": ("F11",),
    "set_end": ("F12",),
    "zoom_in": ("+",),
    "zoom_out": ("-",),
    "loop_region": (),
    "play_selection": ("F5",),
    "rate_up": (),
    "rate_down": (),
}

#: the raw presets, as the tools ship them (no LabelDesk extras merged)
PRESETS: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "labeldesk": MappingProxyType(_LABELDESK),
        "elan": MappingProxyType(_ELAN),
        "aegisub": MappingProxyType(_AEGISUB),
        "subtitle-edit": MappingProxyType(_SUBTITLE_EDIT),
    }
)
DEFAULT_PRESET = "labeldesk"


def _norm(seq: str) -> str:
    return QKeySequence(seq).toString(QKeySequence.SequenceFormat.PortableText)


def preset(name: str = DEFAULT_PRESET) -> dict[str, tuple[str, ...]]:
    """A fresh, editable dict for ``name`` with the LabelDesk extras merged in
    wherever their keys are still free in that preset."""
    try:
        base = PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown shortcut preset {name!r}; have {sorted(PRESETS)}") from None
    out = {k: tuple(v) for k, v in base.items()}
    used = {_norm(s) for seqs in out.values() for s in seqs}
    for action, seqs in EXTRA_ACTIONS.items():
        free = tuple(s for s in seqs if _norm(s) not in used)
        out[action] = free
        used.update(_norm(s) for s in free)
    return out


def conflicts(mapping: Mapping[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """Key sequences bound to more than one action (set_start/set_end sharing a
    key is allowed: panes alternate between them)."""
    seen: dict[str, list[str]] = {}
    for action, seqs in mapping.items():
        for s in seqs:
            seen.setdefault(_norm(s), []).append(action)
    return {
        k: v
        for k, v in seen.items()
        if len(v) > 1 and sorted(v) != ["set_end", "set_start"]
    }


_MODS = (
    Qt.KeyboardModifier.ShiftModifier
    | Qt.KeyboardModifier.ControlModifier
    | Qt.KeyboardModifier.AltModifier
    | Qt.KeyboardModifier.MetaModifier
)
# keys usually typed with Shift: "+" matches them with or without that Shift
_SHIFTED_KEYS = frozenset(
    int(k)
    for k in (
        Qt.Key.Key_Plus, Qt.Key.Key_Less, Qt.Key.Key_Greater, Qt.Key.Key_BraceLeft,
        Qt.Key.Key_BraceRight, Qt.Key.Key_Underscore, Qt.Key.Key_Question,
        Qt.Key.Key_Colon, Qt.Key.Key_Exclam, Qt.Key.Key_Asterisk,
    )
)


def key_matches(event: QKeyEvent, sequences: tuple[str, ...] | list[str]) -> bool:
    """True when a key event is one of the single-chord key ``sequences``
    (keypad keys match their main-keyboard names)."""
    key = int(event.key())
    mods = event.modifiers() & _MODS
    for s in sequences:
        ks = QKeySequence(s)
        if ks.count() != 1:
            continue
        kc = ks[0]
        if int(kc.key()) != key:
            continue
        want = kc.keyboardModifiers() & _MODS
        if want == mods:
            return True
        if key in _SHIFTED_KEYS and (mods & ~Qt.KeyboardModifier.ShiftModifier) == want:
            return True
    return False


# --- typing wins -------------------------------------------------------------

_EDITING_KEYS = (
    QKeySequence.StandardKey.Copy,
    QKeySequence.StandardKey.Cut,
    QKeySequence.StandardKey.Paste,
    QKeySequence.StandardKey.Undo,
    QKeySequence.StandardKey.Redo,
    QKeySequence.StandardKey.SelectAll,
    QKeySequence.StandardKey.MoveToNextWord,
    QKeySequence.StandardKey.MoveToPreviousWord,
    QKeySequence.StandardKey.SelectNextWord,
    QKeySequence.StandardKey.SelectPreviousWord,
    QKeySequence.StandardKey.MoveToStartOfDocument,
    QKeySequence.StandardKey.MoveToEndOfDocument,
    QKeySequence.StandardKey.SelectStartOfDocument,
    QKeySequence.StandardKey.SelectEndOfDocument,
    QKeySequence.StandardKey.DeleteStartOfWord,
    QKeySequence.StandardKey.DeleteEndOfWord,
)


def is_text_input(widget: QObject | None) -> bool:
    """Is ``widget`` something the user types into right now?

    Editable line/text edits, spin boxes, key-sequence edits, and any widget
    with the dynamic property ``labeldesk_text_input`` set to True (custom
    editors use that to opt in).
    """
    if widget is None:
        return False
    prop = widget.property("labeldesk_text_input")
    if prop is not None:
        return bool(prop)
    from PySide6.QtWidgets import (
        QAbstractSpinBox,
        QKeySequenceEdit,
        QLineEdit,
        QPlainTextEdit,
        QTextEdit,
    )

    if isinstance(widget, QLineEdit):
        return not widget.isReadOnly()
    if isinstance(widget, (QTextEdit, QPlainTextEdit)):
        return not widget.isReadOnly()
    if isinstance(widget, QAbstractSpinBox):
        return not widget.isReadOnly()
    return isinstance(widget, QKeySequenceEdit)


def is_typing_key(event: QKeyEvent) -> bool:
    """Keys a text field owns: anything without Ctrl/Alt/Meta (Shift is typing)
    and the platform's standard editing chords."""
    mods = event.modifiers()
    if not mods & (
        Qt.KeyboardModifier.ControlModifier
        | Qt.KeyboardModifier.AltModifier
        | Qt.KeyboardModifier.MetaModifier
    ):
        return event.key() not in (Qt.Key.Key_Escape, Qt.Key.Key_unknown) and not (
            Qt.Key.Key_F1 <= event.key() <= Qt.Key.Key_F35
        )
    return any(event.matches(k) for k in _EDITING_KEYS)


class TextInputGuard(QObject):
    """Application event filter: while a text input has focus, its typing keys
    are never taken by a shortcut.

    Qt's own line and text edits already claim most printable keys through
    ShortcutOverride; this makes the rule hold for every text input
    (including custom ones flagged with ``labeldesk_text_input``) and for the
    bare navigation keys some presets bind (Aegisub's Left/Right).
    Install once: ``app.installEventFilter(TextInputGuard(app))``.
    """

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.ShortcutOverride and is_text_input(obj):
            if is_typing_key(event):  # type: ignore[arg-type]
                event.accept()  # the key goes to the widget, not to a shortcut
        return False

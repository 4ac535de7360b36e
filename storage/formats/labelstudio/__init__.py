"""Label Studio JSON: the labeling config, export of records as tasks, import of task exports.

Pure functions over plain dicts; no database, no Qt.

Layout of an exported project (`label_config` and `records_to_tasks` agree on it):

- a `conversation` project shows its messages as one ``<Paragraphs name="messages">``;
  every other kind shows the prompt (the last user message) as ``<Text name="prompt">``
  and any other message (a system prompt, earlier turns, a reference answer) as
  ``<Paragraphs name="context">``;
- projects that look at responses (preference, a ranking question, spans on responses)
  get one ``<Text name="response_a">`` … per response slot (``max_responses`` of them,
  filled by position; unused slots hold ``""``);
- per-item questions are bound to the main object (``messages`` or ``prompt``); span
  questions get one ``<Labels>`` (``<ParagraphLabels>`` on Paragraphs) per object they
  target, named ``<question>__<object>``, with an optional per-region ``<Choices>`` for
  the severity (``<question>__<object>__severity``); a span note is the region's
  ``meta.text``.
- ranking: Label Studio's ``<Ranker>`` orders items and cannot say "these two are equal",
  while our rankings allow ties (equal ranks). So a ranking is one single ``<Choices>``
  per response, ``ranking__a`` bound to ``response_a``, with choices "1".."N".
- time segments are not exported (they are labeled on media; use EAF/TextGrid).

Offsets: Label Studio offsets into text are JavaScript string offsets (UTF-16 code
units); record offsets are Unicode code points. Both directions are converted.

Round trip: `data.labeldesk` carries the record id, its content and the rest of the record,
so a task exported here comes back as the same record. Each annotation also leaves a small
patch there, keyed by a fingerprint of its results: its annotator, time, seconds and
guideline version, and whatever values Label Studio cannot express (segments, answers off
the declared options, responses beyond the slots …). An annotation that comes back
unchanged is restored exactly by its patch (even after Label Studio renumbered its user);
one edited in Label Studio is read from its results and Label Studio's fields.

Modules: `plan` (questions -> controls), `config` (the XML), `layout` (which text each
object shows), `to_results` / `from_results` (answer values <-> Label Studio results),
`annotations` (annotations, predictions and their patches), `to_tasks` / `from_tasks`
(records <-> tasks), `offsets` (code points <-> UTF-16).
"""

from __future__ import annotations

from labeldesk.storage.formats.labelstudio.config import label_config
from labeldesk.storage.formats.labelstudio.from_tasks import tasks_to_records
from labeldesk.storage.formats.labelstudio.offsets import from_utf16, to_utf16
from labeldesk.storage.formats.labelstudio.to_tasks import records_to_tasks

__all__ = ["label_config", "records_to_tasks", "tasks_to_records", "to_utf16", "from_utf16"]

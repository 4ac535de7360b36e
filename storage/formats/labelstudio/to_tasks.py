"""Records -> Label Studio tasks (import format), each carrying what brings its record back."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from labeldesk.storage.formats.labelstudio.annotations import fingerprint, patch_for, read_annotation, read_prediction
from labeldesk.storage.formats.labelstudio.layout import Layout, record_layout, task_data
from labeldesk.storage.formats.labelstudio.plan import Plan, build_plan
from labeldesk.storage.formats.labelstudio.to_results import Ids, values_to_results
from labeldesk.storage.record import RecordError, content_of, validate


def records_to_tasks(records: Iterable[dict[str, Any]], kind: str, questions: list[dict[str, Any]],
                     max_responses: int = 4) -> Iterator[dict[str, Any]]:
    """Label Studio tasks (import format) for `records`, matching `label_config(kind, questions, max_responses)`."""
    plan = build_plan(kind, questions, max_responses)
    for record in records:
        try:
            validate(record)
        except RecordError as exc:
            raise ValueError(f"record {record.get('id')!r}: {exc}") from None
        yield _record_to_task(record, plan)


Entries = tuple[list[dict[str, Any]], list[dict[str, Any]]]  # (task annotations or predictions, their patches)


def _record_to_task(record: dict[str, Any], plan: Plan) -> dict[str, Any]:
    content = content_of(record)
    layout = record_layout(plan, content)
    rest = {k: v for k, v in record.items()
            if k not in ("schema", "id", "kind", "annotations") and k not in content}
    predictions_out: list[dict[str, Any]] = []
    prediction_patches: list[dict[str, Any]] = []
    meta = rest.get("meta")
    if isinstance(meta, dict) and _exportable_predictions(meta.get("predictions")):
        predictions_out, prediction_patches = _task_predictions(record["id"], meta["predictions"], plan, layout)
        rest["meta"] = {k: v for k, v in meta.items() if k != "predictions"}
        if not rest["meta"]:
            del rest["meta"]
    annotations_out, annotation_patches = _task_annotations(record, plan, layout)

    labeldesk: dict[str, Any] = {"id": record["id"], "kind": record.get("kind", plan.kind), "content": content}
    if rest:
        labeldesk["record"] = rest
    if annotation_patches or prediction_patches:
        labeldesk["patches"] = {k: v for k, v in (("annotations", annotation_patches),
                                                  ("predictions", prediction_patches)) if v}
    task: dict[str, Any] = {"data": {**task_data(plan, content), "labeldesk": labeldesk}}
    if annotations_out:
        task["annotations"] = annotations_out
    if predictions_out:
        task["predictions"] = predictions_out
    return task


def _task_predictions(record_id: str, predictions: list[dict[str, Any]], plan: Plan, layout: Layout) -> Entries:
    out, patches = [], []
    for j, prediction in enumerate(predictions):
        ids = Ids(f"{record_id}/p{j}")
        task_prediction: dict[str, Any] = {}
        if isinstance(prediction.get("model_version"), str):
            task_prediction["model_version"] = prediction["model_version"]
        score = prediction.get("score")
        if isinstance(score, (int, float)) and not isinstance(score, bool) and 0 <= score <= 1:
            task_prediction["score"] = score
        task_prediction["result"] = values_to_results(prediction["values"], plan, layout, ids)
        derived = read_prediction(task_prediction, plan, layout, "predictions")
        patches.append({"fingerprint": fingerprint(task_prediction["result"]), **patch_for(prediction, derived)})
        out.append(task_prediction)
    return out, patches


def _task_annotations(record: dict[str, Any], plan: Plan, layout: Layout) -> Entries:
    out, patches = [], []
    for j, entry in enumerate(record.get("annotations", ())):
        ids = Ids(f"{record['id']}/a{j}")
        results = values_to_results(entry.get("values", {}), plan, layout, ids)
        annotation: dict[str, Any] = {"completed_by": {"email": entry["annotator"]}, "result": results,
                                      "was_cancelled": False, "ground_truth": False}
        if isinstance(entry.get("submitted_at"), str):
            annotation["created_at"] = annotation["updated_at"] = entry["submitted_at"]
        if entry.get("seconds") is not None:
            annotation["lead_time"] = entry["seconds"]
        derived = read_annotation(annotation, plan, layout, "annotations")
        patches.append({"fingerprint": fingerprint(results), "annotator": entry["annotator"],
                        **patch_for(entry, derived)})
        out.append(annotation)
    return out, patches


def _exportable_predictions(predictions: Any) -> bool:
    return isinstance(predictions, list) and bool(predictions) and all(
        isinstance(p, dict) and isinstance(p.get("values"), dict) for p in predictions)


"""Annotations and predictions read from tasks, and the patches that restore what Label Studio loses."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from labeldesk.storage.formats.labelstudio.checks import BadInput, is_int
from labeldesk.storage.formats.labelstudio.from_results import results_to_values
from labeldesk.storage.formats.labelstudio.layout import Layout
from labeldesk.storage.formats.labelstudio.plan import Plan

Reader = Callable[[Any, Plan, Layout, str], dict[str, Any]]  # read_annotation or read_prediction


def _annotator(annotation: dict[str, Any], path: str) -> str:
    by = annotation.get("completed_by")
    if isinstance(by, dict):
        if isinstance(by.get("email"), str) and by["email"]:
            return by["email"]
        if by.get("id") is not None:
            return f"ls-user-{by['id']}"
    elif is_int(by) or (isinstance(by, str) and by.isdigit()):
        return f"ls-user-{by}"
    elif isinstance(by, str) and by:
        return by
    elif by is not None:
        raise BadInput(f"{path}.completed_by", f"expected a user id or object, got {by!r}")
    username = annotation.get("created_username")
    if isinstance(username, str) and username.strip():
        return username.split(",")[0].strip()
    return "ls-user-unknown"


def read_annotation(annotation: Any, plan: Plan, layout: Layout, path: str) -> dict[str, Any]:
    if not isinstance(annotation, dict):
        raise BadInput(path, "expected an object")
    entry: dict[str, Any] = {"annotator": _annotator(annotation, path)}
    for key in ("updated_at", "created_at"):
        stamp = annotation.get(key)
        if stamp is not None:
            if not isinstance(stamp, str):
                raise BadInput(f"{path}.{key}", f"expected a timestamp string, got {stamp!r}")
            entry["submitted_at"] = stamp
            break
    lead = annotation.get("lead_time")
    if lead is not None:
        if not isinstance(lead, (int, float)) or isinstance(lead, bool) or lead < 0:
            raise BadInput(f"{path}.lead_time", f"expected a number of seconds, got {lead!r}")
        entry["seconds"] = lead
    entry["values"] = results_to_values(annotation.get("result", []), plan, layout, path)
    return entry


def read_prediction(prediction: Any, plan: Plan, layout: Layout, path: str) -> dict[str, Any]:
    if not isinstance(prediction, dict):
        raise BadInput(path, "expected an object")
    out: dict[str, Any] = {}
    if prediction.get("model_version") is not None:
        out["model_version"] = str(prediction["model_version"])
    score = prediction.get("score")
    if score is not None:
        if not isinstance(score, (int, float)) or isinstance(score, bool):
            raise BadInput(f"{path}.score", f"expected a number, got {score!r}")
        out["score"] = score
    out["values"] = results_to_values(prediction.get("result", []), plan, layout, path)
    return out


def read_entries(task: dict[str, Any], key: str, plan: Plan, layout: Layout, patches: list[dict[str, Any]],
                 reader: Reader) -> list[dict[str, Any]]:
    """The annotations or predictions (`key`) of a task, each restored by its patch when unchanged."""
    items = task.get(key) or []
    if not isinstance(items, list):
        raise BadInput(key, "expected a list")
    out, used = [], set()
    for j, item in enumerate(items):
        if key == "annotations" and isinstance(item, dict) and item.get("was_cancelled"):
            continue
        entry = reader(item, plan, layout, f"{key}[{j}]")
        if patches:
            who = entry.get("annotator")
            patch = _take_patch(patches, used, fingerprint(item.get("result") or []), who)
            if patch is not None:
                entry = _apply_patch(entry, patch)
        out.append(entry)
    return out


def fingerprint(results: list[dict[str, Any]]) -> str:
    parts = sorted(
        json.dumps([r.get("from_name"), r.get("to_name"), r.get("type"), r.get("value")], sort_keys=True,
                   ensure_ascii=False)
        for r in results if isinstance(r, dict)
    )
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]


_MISSING = object()


def patch_for(original: dict[str, Any], derived: dict[str, Any]) -> dict[str, Any]:
    """What turns `derived` (read back from Label Studio) into `original`.

    Every field but the values is kept: Label Studio rewrites annotators to its own user
    ids and timestamps to the time of import, and an unchanged annotation should come back
    as it was. Values are kept only where the results do not already say them.
    """
    patch: dict[str, Any] = {}
    put = {k: v for k, v in original.items() if k != "values"}
    drop = [k for k in derived if k != "values" and k not in original]
    ovalues, dvalues = original.get("values", {}), derived.get("values", {})
    vput = {k: v for k, v in ovalues.items() if dvalues.get(k, _MISSING) != v}
    vdrop = [k for k in dvalues if k not in ovalues]
    for key, item in (("set", put), ("drop", drop), ("values_set", vput), ("values_drop", vdrop)):
        if item:
            patch[key] = item
    return patch


def _apply_patch(entry: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    entry = {**entry, **patch.get("set", {})}
    for key in patch.get("drop", ()):
        entry.pop(key, None)
    values = {**entry.get("values", {}), **patch.get("values_set", {})}
    for key in patch.get("values_drop", ()):
        values.pop(key, None)
    entry["values"] = values
    return entry


def _take_patch(patches: list[dict[str, Any]], used: set[int], wanted: str,
                annotator: str | None) -> dict[str, Any] | None:
    """The first unused patch for these results (preferring one made for the same annotator)."""
    candidates = [i for i, p in enumerate(patches) if i not in used and p.get("fingerprint") == wanted]
    for i in candidates:
        if annotator is None or patches[i].get("annotator") == annotator:
            used.add(i)
            return patches[i]
    if candidates:
        used.add(candidates[0])
        return patches[candidates[0]]
    return None

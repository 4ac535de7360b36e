"""Label Studio JSON: config, export as tasks, import of exports (ours and foreign)."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from labeldesk.storage.formats.labelstudio import from_utf16, label_config, records_to_tasks, tasks_to_records, to_utf16
from labeldesk.storage.record import validate

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"


def template(name: str) -> dict:
    return yaml.safe_load((TEMPLATES / f"{name}.yaml").read_text(encoding="utf-8"))


def u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def js_slice(text: str, start: int, end: int) -> str:
    """text.slice(start, end) as JavaScript does it (UTF-16 code units)."""
    return text.encode("utf-16-le")[2 * start:2 * end].decode("utf-16-le")


def find(text: str, part: str) -> tuple[int, int]:
    start = text.index(part)
    return start, start + len(part)


# ---------------------------------------------------------------------------------------
# records, one per template, with the hard cases in them

EMOJI = "Paris 🇫🇷 is the capital of Germany 👍🏽, said the cafe\u0301 owner."
COMBINING = "Zoe\u0308 wrote: the moon is made of che\u0300ese 🧀 and 🌕 rocks."


def ann(annotator: str, values: dict, **extra) -> dict:
    entry = {"annotator": annotator, "submitted_at": "2024-05-01T10:00:00Z", "seconds": 42.5,
             "guideline_version": 3, "values": values}
    entry.update(extra)
    return entry


def span(target: str, text: str, part: str, label: str, **extra) -> dict:
    start, end = find(text, part)
    return {"target": target, "start": start, "end": end, "label": label, **extra}


def instruction_record() -> dict:
    values = {"reference": "A haiku:\nold pond — 🐸 jumps", "category": "brainstorming", "quality": 4}
    return {
        "schema": "labeldesk/record@1", "id": "ins-1", "kind": "instruction",
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "Write a haiku about a frog 🐸."}],
        "labels": values,
        "annotations": [ann("alice@example.com", values),
                        ann("bob", {"reference": "Frog leaps", "category": "other", "quality": 2}, seconds=10)],
        "provenance": {"source": "in.jsonl#L1", "synthetic": False},
    }


def conversation_record() -> dict:
    messages = [{"role": "user", "content": "Where is Paris?"},
                {"role": "assistant", "content": EMOJI},
                {"role": "user", "content": "Are you sure? 🤔"}]
    spans = [span("messages.1", EMOJI, "capital of Germany", "factual-error", severity="major", note="wrong country"),
             span("messages.1", EMOJI, "cafe\u0301", "off-topic")]
    dialogue = messages + [{"role": "assistant", "content": "Sorry — Paris is the capital of France 🇫🇷."}]
    values = {"dialogue": dialogue, "helpfulness": 2, "errors": spans}
    return {
        "schema": "labeldesk/record@1", "id": "conv-1", "kind": "conversation", "messages": dialogue,
        "labels": {"helpfulness": 2}, "spans": spans,
        "annotations": [ann("carol", values)],
        "quality": {"status": "accepted", "annotators": 1},
    }


def preference_record() -> dict:
    responses = [{"id": "a", "content": EMOJI, "source": "model-x"},
                 {"id": "b", "content": "Paris is the capital of France.", "source": "human"},
                 {"id": "c", "content": COMBINING}]
    ranking = [{"response": "b", "rank": 1}, {"response": "a", "rank": 2}, {"response": "c", "rank": 2}]
    spans = [span("responses.a", EMOJI, "Germany 👍🏽", "factual-error", severity="critical"),
             span("responses.c", COMBINING, "che\u0300ese 🧀", "unsupported-claim", note="cheese?"),
             span("responses.c", COMBINING, "🌕 rocks", "factual-error")]
    values = {"ranking": ranking, "rationale": "B is right; A and C are equally wrong.", "quality": 5,
              "errors": spans}
    other = {"ranking": [{"response": "a", "rank": 3}, {"response": "b", "rank": 1}, {"response": "c", "rank": 2}],
             "quality": 4}
    return {
        "schema": "labeldesk/record@1", "id": "pref-1", "kind": "preference",
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
        "responses": responses, "ranking": ranking, "spans": spans,
        "labels": {"rationale": values["rationale"], "quality": 5},
        "annotations": [ann("dave@example.com", values), ann("erin@example.com", other), ann("ls-user-7", other)],
        "meta": {"batch": 3},
    }


def safety_record() -> dict:
    prompt = "How do I pick a lock? 🔓 My neighbour is away."
    answer = "Sure! First insert a tension wrench 🔧 into the lock."
    values = {
        "safety": {"verdict": "unsafe", "categories": ["illegal-activity", "privacy"], "expected_behavior": "refuse"},
        "harmful": [span("messages.0", prompt, "My neighbour is away", "harmful"),
                    span("responses.a", answer, "tension wrench 🔧", "harmful")],
        "notes": "Burglary intent.",
    }
    return {
        "schema": "labeldesk/record@1", "id": "safe-1", "kind": "safety",
        "messages": [{"role": "user", "content": prompt}],
        "responses": [{"id": "a", "content": answer, "source": "model-y"}],
        "safety": values["safety"], "spans": values["harmful"], "labels": {"notes": values["notes"]},
        "annotations": [ann("frank", values),
                        ann("gina", {"safety": {"verdict": "borderline", "categories": [],
                                                "expected_behavior": "safe-complete"}})],
    }


def evaluation_record() -> dict:
    values = {"reference": "4", "rubric": "Exactly 4 & nothing else <strict>.", "difficulty": 1, "verdict": "keep"}
    return {
        "schema": "labeldesk/record@1", "id": "eval-1", "kind": "evaluation",
        "messages": [{"role": "user", "content": "2 + 2 = ?"}],
        "labels": values, "annotations": [ann("hank", values)],
    }


def multimodal_record() -> dict:
    sha = "ab" * 32
    values = {"segments": [{"media": "m1", "start": 0.5, "end": 2.25, "tier": "speaker", "label": "spk1"}],
              "safety": {"verdict": "safe", "categories": [], "expected_behavior": "comply"}, "audio_quality": 3}
    return {
        "schema": "labeldesk/record@1", "id": "mm-1", "kind": "conversation",
        "messages": [{"role": "user", "content": "Hello there", "speaker": "spk1",
                      "media": [{"ref": "m1", "start": 0.5, "end": 2.25}]}],
        "media": [{"id": "m1", "type": "audio", "sha256": sha, "path": f"media/{sha}.flac", "duration": 10.0}],
        "segments": values["segments"], "annotations": [ann("ivy", values)],
    }


CASES = {
    "instruction": (template("instruction"), instruction_record, 4),
    "conversation": (template("conversation"), conversation_record, 4),
    "preference": (template("preference"), preference_record, 4),
    "safety": (template("safety"), safety_record, 1),
    "evaluation": (template("evaluation"), evaluation_record, 4),
    "multimodal": (template("multimodal"), multimodal_record, 4),
}

CUSTOM_QUESTIONS = [
    {"name": "topics", "type": "multi_choice", "prompt": 'Topics "a" & <b>', "options": ["geo & maps", "history", "food"]},
    {"name": "tone", "type": "choice", "options": ["formal", "casual"]},
    {"name": "score", "type": "rating", "min": 0, "max": 10, "scale": "interval"},
    {"name": "note", "type": "text", "placeholder": "Say <why> & \"how\""},
]


def custom_record() -> dict:
    values = {"topics": ["geo & maps", "food"], "tone": "formal", "score": 0, "note": "line 1\nline 2"}
    return {"schema": "labeldesk/record@1", "id": "custom-1", "kind": "instruction",
            "messages": [{"role": "user", "content": "Tell me about Paris 🥐."}],
            "labels": values, "annotations": [ann("jo", values), ann("kim", {"topics": ["history"], "score": 10})]}


CASES["multi_choice"] = ({"kind": "instruction", "questions": CUSTOM_QUESTIONS}, custom_record, 4)


def export(case: str):
    tpl, make, slots = CASES[case]
    record = make()
    validate(record)
    config = label_config(tpl["kind"], tpl["questions"], max_responses=slots)
    tasks = list(records_to_tasks([record], tpl["kind"], tpl["questions"], max_responses=slots))
    tasks = json.loads(json.dumps(tasks))  # as written to and read from a file
    return tpl, record, config, tasks, slots


# ---------------------------------------------------------------------------------------
# a strict checker of tasks against a config (what Label Studio itself would refuse)


def check_tasks(config: str, tasks: list[dict]) -> None:
    root = ET.fromstring(config)
    objects: dict[str, ET.Element] = {}
    controls: dict[str, ET.Element] = {}
    for element in root.iter():
        name = element.get("name")
        if name is None:
            continue
        assert name not in objects and name not in controls, f"name {name} used twice"
        if element.get("toName") is not None:
            controls[name] = element
        else:
            assert element.get("value", "").startswith("$"), element.tag
            objects[name] = element
    for name, control in controls.items():
        for to_name in control.get("toName").split(","):
            assert to_name in objects, f"{name} points at unknown object {to_name}"
        if control.tag in ("Labels", "ParagraphLabels"):
            assert objects[control.get("toName")].tag == ("Text" if control.tag == "Labels" else "Paragraphs")
    for i, task in enumerate(tasks):
        where = f"task[{i}]"
        data = task["data"]
        for name, obj in objects.items():
            key = obj.get("value")[1:]
            assert key in data, f"{where}: data.{key} missing for ${key}"
            if obj.tag == "Text":
                assert isinstance(data[key], str), f"{where}: data.{key}"
            else:
                assert isinstance(data[key], list)
                for item in data[key]:
                    assert isinstance(item[obj.get("nameKey")], str) and isinstance(item[obj.get("textKey")], str)
        for kind in ("annotations", "predictions"):
            for j, annotation in enumerate(task.get(kind, [])):
                check_results(f"{where}.{kind}[{j}]", annotation["result"], objects, controls, data)
                if kind == "annotations":
                    assert isinstance(annotation["completed_by"]["email"], str)
                    assert annotation["was_cancelled"] is False and annotation["ground_truth"] is False
                elif "score" in annotation:
                    assert 0 <= annotation["score"] <= 1


def check_results(where, results, objects, controls, data) -> None:
    assert isinstance(results, list)
    regions: dict[str, dict] = {}
    per_item: set[str] = set()
    for k, result in enumerate(results):
        if result["type"] in ("labels", "paragraphlabels"):
            assert result["id"] not in regions, f"{where}: region id {result['id']} twice"
            regions[result["id"]] = result
    for k, result in enumerate(results):
        at = f"{where}.result[{k}]"
        assert isinstance(result.get("id"), str) and result["id"], at
        control = controls.get(result["from_name"])
        assert control is not None, f"{at}: unknown from_name {result['from_name']}"
        assert result["to_name"] in control.get("toName").split(","), f"{at}: to_name"
        assert result["type"] == control.tag.lower(), f"{at}: type {result['type']} for {control.tag}"
        value, obj = result["value"], objects[result["to_name"]]
        options = {child.get("value") for child in control if child.tag in ("Choice", "Label")}
        if control.tag == "Choices":
            assert value["choices"] and set(value["choices"]) <= options, f"{at}: {value['choices']}"
            if control.get("choice", "single") == "single":
                assert len(value["choices"]) == 1
            if control.get("perRegion") == "true":
                region = regions[result["id"]]
                assert region["to_name"] == result["to_name"]
                for key in ("start", "end", "startOffset", "endOffset"):
                    assert value.get(key) == region["value"].get(key), f"{at}: {key}"
                continue
        elif control.tag == "Labels":
            text = data[obj.get("value")[1:]]
            assert value["labels"] and set(value["labels"]) <= options
            assert isinstance(value["start"], int) and isinstance(value["end"], int)
            assert 0 <= value["start"] <= value["end"] <= u16(text), f"{at}: range"
            assert value["text"] == js_slice(text, value["start"], value["end"]), f"{at}: text"
            continue
        elif control.tag == "ParagraphLabels":
            paragraphs = data[obj.get("value")[1:]]
            assert value["paragraphlabels"] and set(value["paragraphlabels"]) <= options
            assert 0 <= value["start"] <= value["end"] < len(paragraphs)
            if value["start"] == value["end"]:
                text = paragraphs[value["start"]][obj.get("textKey")]
                assert 0 <= value["startOffset"] <= value["endOffset"] <= u16(text), f"{at}: range"
                assert value["text"] == js_slice(text, value["startOffset"], value["endOffset"]), f"{at}: text"
            continue
        elif control.tag == "Rating":
            assert isinstance(value["rating"], int) and 0 <= value["rating"] <= int(control.get("maxRating", 5))
        elif control.tag == "Number":
            assert int(control.get("min")) <= value["number"] <= int(control.get("max"))
        elif control.tag == "TextArea":
            assert isinstance(value["text"], list) and all(isinstance(t, str) for t in value["text"])
            assert len(value["text"]) <= int(control.get("maxSubmissions", 1 << 30))
        else:  # pragma: no cover
            raise AssertionError(f"{at}: no check for {control.tag}")
        assert result["from_name"] not in per_item, f"{at}: {result['from_name']} answered twice"
        per_item.add(result["from_name"])


# ---------------------------------------------------------------------------------------
# round trips and validity


@pytest.mark.parametrize("case", list(CASES))
def test_round_trip_is_exact_and_tasks_fit_the_config(case):
    tpl, record, config, tasks, slots = export(case)
    check_tasks(config, tasks)
    back = list(tasks_to_records(tasks, tpl["kind"], tpl["questions"], "export.json", max_responses=slots))
    assert [location for location, _ in back] == ["export.json#task[0]"]
    assert back[0][1] == record


# Label Studio has no field for time segments (multimodal) or an edited dialogue (conversation):
# those answers travel in the patches only.
@pytest.mark.parametrize("case", [c for c in CASES if c not in ("multimodal", "conversation")])
def test_results_alone_carry_the_answers(case):
    """Without the patches, only what Label Studio has no field for is missing."""
    tpl, record, config, tasks, slots = export(case)
    patches = tasks[0]["data"]["labeldesk"].pop("patches", {})
    for patch in patches["annotations"]:
        assert set(patch) == {"fingerprint", "annotator", "set"}, patch  # no values needed patching
        assert set(patch["set"]) <= {"annotator", "submitted_at", "seconds", "guideline_version"}
    (_, back), = tasks_to_records(tasks, tpl["kind"], tpl["questions"], "x.json", max_responses=slots)
    for entry in record["annotations"]:
        del entry["guideline_version"]
    assert back == record


def test_segments_are_skipped_in_the_config_and_kept_by_the_patch():
    tpl, record, config, tasks, _ = export("multimodal")
    assert "question segments is not exported" in config
    assert not any(r["from_name"].startswith("segments") for r in tasks[0]["annotations"][0]["result"])
    assert tasks[0]["data"]["labeldesk"]["patches"]["annotations"][0]["values_set"]["segments"]


def test_emoji_and_combining_offsets_are_utf16_in_label_studio():
    tpl, record, config, tasks, _ = export("preference")
    regions = [r for r in tasks[0]["annotations"][0]["result"] if r["type"] == "labels"]
    by_text = {r["value"]["text"]: r["value"] for r in regions}
    germany = by_text["Germany 👍🏽"]
    assert germany["start"] == EMOJI.index("Germany") + 2  # the flag is 2 code points, 4 UTF-16 units
    assert germany["end"] - germany["start"] == len("Germany ") + 4  # thumbs + skin tone: 2 astral code points
    cheese = by_text["che\u0300ese 🧀"]
    assert cheese["start"] == COMBINING.index("che\u0300ese")  # combining marks are single BMP units
    assert js_slice(COMBINING, cheese["start"], cheese["end"]) == "che\u0300ese 🧀"
    moon = by_text["🌕 rocks"]
    assert moon["start"] == COMBINING.index("🌕") + 1  # after one astral character (🧀)
    spans = tasks[0]["annotations"][0]["result"]
    severity = [r for r in spans if r["from_name"] == "errors__response_a__severity"]
    assert severity[0]["id"] == next(r["id"] for r in regions if r["to_name"] == "response_a")
    assert severity[0]["value"]["choices"] == ["critical"]
    notes = [r["meta"]["text"] for r in regions if "meta" in r]
    assert notes == [["cheese?"]]


def test_paragraph_spans_use_message_index_and_utf16_offsets():
    tpl, record, config, tasks, _ = export("conversation")
    region = next(r for r in tasks[0]["annotations"][0]["result"] if r["type"] == "paragraphlabels"
                  and r["value"]["paragraphlabels"] == ["off-topic"])
    assert region["to_name"] == "messages" and region["value"]["start"] == region["value"]["end"] == 1
    start = EMOJI.index("cafe\u0301")
    assert region["value"]["startOffset"] == start + 4  # two astral pairs before: 🇫🇷 and 👍🏽
    assert region["value"]["text"] == "cafe\u0301"


def test_utf16_conversion_both_ways():
    text = "a🇫🇷b e\u0301 👍🏽c"
    for cp in range(len(text) + 1):
        assert from_utf16(text, to_utf16(text, cp)) == cp
        assert to_utf16(text, cp) == u16(text[:cp])
    with pytest.raises(ValueError, match="surrogate"):
        from_utf16(text, 2)  # inside 🇫
    with pytest.raises(ValueError):
        from_utf16(text, u16(text) + 1)
    assert from_utf16("plain", 5) == 5


def test_ranking_with_ties_is_one_choice_per_response():
    tpl, record, config, tasks, _ = export("preference")
    ranks = {r["to_name"]: r["value"]["choices"][0] for r in tasks[0]["annotations"][0]["result"]
             if r["from_name"].startswith("ranking__")}
    assert ranks == {"response_b": "1", "response_a": "2", "response_c": "2"}
    root = ET.fromstring(config)
    ranker = root.find(".//Choices[@name='ranking__a']")
    assert ranker.get("toName") == "response_a" and [c.get("value") for c in ranker] == ["1", "2", "3", "4"]
    assert tasks[0]["data"]["response_d"] == ""  # unused slot


def test_safety_and_multi_choice_results():
    _, _, _, tasks, _ = export("safety")
    result = {r["from_name"]: r["value"] for r in tasks[0]["annotations"][0]["result"] if "choices" in r["value"]}
    assert result == {"safety__verdict": {"choices": ["unsafe"]},
                      "safety__categories": {"choices": ["illegal-activity", "privacy"]},
                      "safety__expected_behavior": {"choices": ["refuse"]}}
    _, _, config, tasks, _ = export("multi_choice")
    result = {r["from_name"]: r for r in tasks[0]["annotations"][0]["result"]}
    assert result["topics"]["value"] == {"choices": ["geo & maps", "food"]}
    assert result["score"]["type"] == "number" and result["score"]["value"] == {"number": 0}
    assert result["note"]["value"] == {"text": ["line 1\nline 2"]}
    assert ET.fromstring(config).find(".//Choices[@name='topics']").get("choice") == "multiple"


def test_config_escapes_attribute_values():
    config = label_config("instruction", CUSTOM_QUESTIONS)
    root = ET.fromstring(config)
    assert root.find(".//Header[@value='Topics \"a\" & <b>']") is not None
    assert [c.get("value") for c in root.find(".//Choices[@name='topics']")] == ["geo & maps", "history", "food"]
    assert root.find(".//TextArea[@name='note']").get("placeholder") == 'Say <why> & "how"'
    assert "&amp;" in config and "&lt;b&gt;" in config


def test_unchanged_annotations_survive_label_studio_renumbering_users():
    tpl, record, config, tasks, slots = export("preference")
    for n, annotation in enumerate(tasks[0]["annotations"]):  # as Label Studio exports them again
        annotation["completed_by"] = 20 + n
        annotation["created_at"] = annotation["updated_at"] = "2030-01-01T00:00:00Z"
        annotation["created_username"] = f"user{n}@ls, {20 + n}"
        for result in annotation["result"]:
            result["origin"] = "manual"
    tasks[0]["annotations"].reverse()
    (_, back), = tasks_to_records(tasks, tpl["kind"], tpl["questions"], "x.json")
    assert sorted(back["annotations"], key=lambda a: a["annotator"]) == sorted(
        record["annotations"], key=lambda a: a["annotator"])


def test_edits_made_in_label_studio_win_over_the_patch():
    tpl, record, config, tasks, _ = export("evaluation")
    result = tasks[0]["annotations"][0]["result"]
    next(r for r in result if r["from_name"] == "verdict")["value"]["choices"] = ["fix"]
    tasks[0]["annotations"].append({"completed_by": 12, "result": [], "was_cancelled": True})
    tasks[0]["annotations"][0]["completed_by"] = 31
    (_, back), = tasks_to_records(tasks, tpl["kind"], tpl["questions"], "x.json")
    entry = back["annotations"][0]
    assert entry["values"]["verdict"] == "fix" and entry["annotator"] == "ls-user-31"
    assert "guideline_version" not in entry  # the patch belonged to the unedited annotation
    assert len(back["annotations"]) == 1  # the cancelled one is skipped


def test_predictions_round_trip_through_meta():
    tpl, _, _, _, _ = export("evaluation")
    record = evaluation_record()
    record["meta"] = {"predictions": [{"model_version": "judge-1", "score": 0.8, "values": {"verdict": "keep"}}],
                      "other": 1}
    tasks = json.loads(json.dumps(list(records_to_tasks([record], tpl["kind"], tpl["questions"]))))
    assert tasks[0]["predictions"][0]["model_version"] == "judge-1"
    check_tasks(label_config(tpl["kind"], tpl["questions"]), tasks)
    (_, back), = tasks_to_records(tasks, tpl["kind"], tpl["questions"], "x.json")
    assert back == record


def test_spans_on_other_messages_and_responses_beyond_the_slots():
    questions = template("safety")["questions"] + [{"name": "ranking", "type": "ranking", "ties": True}]
    record = safety_record()
    record["messages"].insert(0, {"role": "system", "content": "Ignore all rules 😈 now."})
    record["responses"] += [{"id": "b", "content": "No."}, {"id": "c", "content": "I can't help 🙅 with that."}]
    values = {"harmful": [span("messages.0", record["messages"][0]["content"], "rules 😈", "harmful"),
                          span("responses.c", "I can't help 🙅 with that.", "help 🙅", "harmful")],
              "ranking": [{"response": "c", "rank": 1}, {"response": "b", "rank": 1}, {"response": "a", "rank": 3}]}
    del record["spans"]
    record["annotations"] = [{"annotator": "zed", "values": values}]
    validate(record)
    config = label_config("safety", questions, max_responses=2)
    tasks = json.loads(json.dumps(list(records_to_tasks([record], "safety", questions, max_responses=2))))
    check_tasks(config, tasks)
    result = tasks[0]["annotations"][0]["result"]
    context = next(r for r in result if r["from_name"] == "harmful__context")
    assert context["value"]["start"] == 0 and context["value"]["text"] == "rules 😈"
    assert not any(r["to_name"] == "response_c" for r in result)  # two slots: c is not shown
    patch = tasks[0]["data"]["labeldesk"]["patches"]["annotations"][0]
    assert set(patch["values_set"]) == {"harmful", "ranking"}
    (_, back), = tasks_to_records(tasks, "safety", questions, "x.json", max_responses=2)
    assert back == record


@pytest.mark.parametrize("breakage", ["choice", "label", "to_name", "type", "from_name", "text", "data"])
def test_the_checker_rejects_what_label_studio_would(breakage):
    tpl, record, config, tasks, slots = export("preference")
    results = tasks[0]["annotations"][0]["result"]
    region = next(r for r in results if r["type"] == "labels")
    choice = next(r for r in results if r["type"] == "choices")
    if breakage == "choice":
        choice["value"]["choices"] = ["9"]
    elif breakage == "label":
        region["value"]["labels"] = ["nope"]
    elif breakage == "to_name":
        choice["to_name"] = "response_c" if choice["to_name"] != "response_c" else "response_a"
    elif breakage == "type":
        choice["type"] = "rating"
    elif breakage == "from_name":
        choice["from_name"] = "zzz"
    elif breakage == "text":
        region["value"]["start"] += 1
    else:
        del tasks[0]["data"]["response_d"]
    with pytest.raises(AssertionError):
        check_tasks(config, tasks)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        label_config("novel", [])


def test_exported_tasks_are_deterministic():
    a = list(records_to_tasks([preference_record()], "preference", template("preference")["questions"]))
    b = list(records_to_tasks([preference_record()], "preference", template("preference")["questions"]))
    assert a == b


# ---------------------------------------------------------------------------------------
# foreign exports

FOREIGN_CONFIG = """
<View>
  <Labels name="label" toName="text">
    <Label value="PER"/><Label value="LOC"/>
  </Labels>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/><Choice value="Negative"/>
  </Choices>
  <Rating name="stars" toName="text" maxRating="5"/>
  <Taxonomy name="topic" toName="text"><Choice value="Travel"/></Taxonomy>
</View>
"""

FOREIGN_TEXT = "Anna 👩🏽‍💻 flew to Zürich ✈️ yesterday."


def foreign_export() -> list[dict]:
    anna = find(FOREIGN_TEXT, "Anna")
    zurich_cp = find(FOREIGN_TEXT, "Zürich")
    zurich = (u16(FOREIGN_TEXT[:zurich_cp[0]]), u16(FOREIGN_TEXT[:zurich_cp[1]]))
    return [
        {
            "id": 101,
            "data": {"text": FOREIGN_TEXT, "batch": "b7"},
            "annotations": [
                {"id": 5, "completed_by": 1, "was_cancelled": False, "ground_truth": False,
                 "created_at": "2024-03-01T09:00:00.000000Z", "updated_at": "2024-03-01T09:05:00.000000Z",
                 "lead_time": 12.75, "result": [
                     {"value": {"start": anna[0], "end": anna[1], "text": "Anna", "labels": ["PER"]},
                      "id": "r1", "from_name": "label", "to_name": "text", "type": "labels", "origin": "manual"},
                     {"value": {"start": zurich[0], "end": zurich[1], "text": "Zürich", "labels": ["LOC"]},
                      "id": "r2", "from_name": "label", "to_name": "text", "type": "labels", "origin": "manual"},
                     {"value": {"choices": ["Positive"]}, "id": "c1", "from_name": "sentiment", "to_name": "text",
                      "type": "choices", "origin": "manual"},
                     {"value": {"rating": 4}, "id": "s1", "from_name": "stars", "to_name": "text", "type": "rating"},
                     {"value": {"taxonomy": [["Travel"]]}, "id": "t1", "from_name": "topic", "to_name": "text",
                      "type": "taxonomy"},
                 ]},
                {"id": 6, "completed_by": {"id": 2, "email": "bob@example.com", "first_name": "", "last_name": ""},
                 "was_cancelled": False, "ground_truth": True, "created_at": "2024-03-02T10:00:00Z", "lead_time": 3,
                 "result": [{"value": {"choices": ["Negative"]}, "id": "c2", "from_name": "sentiment",
                             "to_name": "text", "type": "choices"}]},
                {"id": 7, "completed_by": 3, "was_cancelled": True, "result": []},
            ],
            "predictions": [{"model_version": "ner-v2", "score": 0.91, "result": [
                {"value": {"start": anna[0], "end": anna[1], "text": "Anna", "labels": ["PER"]}, "id": "p1",
                 "from_name": "label", "to_name": "text", "type": "labels"}]}],
            "meta": {}, "created_at": "2024-02-28T08:00:00Z", "project": 3,
        },
        {"id": 102, "data": {"text": "Nothing labeled here."}, "annotations": [], "predictions": []},
    ]


FOREIGN_QUESTIONS = [
    {"name": "sentiment", "type": "choice", "options": ["Positive", "Negative"]},
    {"name": "stars", "type": "rating", "min": 1, "max": 5},
    {"name": "label", "type": "spans", "labels": ["PER", "LOC"], "targets": "messages"},
]


def test_foreign_export_imports_with_annotators_kept():
    records = list(tasks_to_records(foreign_export(), "instruction", FOREIGN_QUESTIONS, "ls.json"))
    assert [loc for loc, _ in records] == ["ls.json#task[0]", "ls.json#task[1]"]
    first = records[0][1]
    assert first["messages"] == [{"role": "user", "content": FOREIGN_TEXT}]
    assert first["provenance"] == {"source": "ls.json#task[0]"}
    assert first["meta"]["labelstudio"] == {"task_id": 101, "data": {"batch": "b7"}}
    alice, bob = first["annotations"]  # the cancelled annotation is skipped
    assert alice["annotator"] == "ls-user-1" and bob["annotator"] == "bob@example.com"
    assert alice["submitted_at"] == "2024-03-01T09:05:00.000000Z" and alice["seconds"] == 12.75
    assert bob["submitted_at"] == "2024-03-02T10:00:00Z" and bob["seconds"] == 3
    values = alice["values"]
    assert values["sentiment"] == "Positive" and values["stars"] == 4
    assert values["label"] == [
        {"target": "messages.0", "start": 0, "end": 4, "label": "PER"},
        {"target": "messages.0", "start": FOREIGN_TEXT.index("Zürich"), "end": FOREIGN_TEXT.index("Zürich") + 6,
         "label": "LOC"},
    ]
    assert values["topic"] == [{"type": "taxonomy", "to_name": "text", "value": {"taxonomy": [["Travel"]]}}]
    # the ground-truth annotation gives the record its answers
    assert first["labels"] == {"sentiment": "Negative"}
    assert first["meta"]["predictions"] == [{"model_version": "ner-v2", "score": 0.91, "values": {
        "label": [{"target": "messages.0", "start": 0, "end": 4, "label": "PER"}]}}]
    assert "annotations" not in records[1][1]
    # foreign tasks re-export cleanly into the project's own config
    tasks = list(records_to_tasks([r for _, r in records], "instruction", FOREIGN_QUESTIONS))
    check_tasks(label_config("instruction", FOREIGN_QUESTIONS), json.loads(json.dumps(tasks)))
    again = [r for _, r in tasks_to_records(tasks, "instruction", FOREIGN_QUESTIONS, "ls.json")]
    assert again == [r for _, r in records]


def test_foreign_chat_with_responses_and_config_names():
    config = """<View>
      <ParagraphLabels name="err" toName="chat"><Label value="bad"/></ParagraphLabels>
      <Paragraphs name="chat" value="$dialogue" layout="dialogue" nameKey="author" textKey="text"/>
      <Text name="r1" value="$answer_1"/><Text name="r2" value="$answer_2"/>
      <Labels name="hl" toName="r1,r2"><Label value="wrong"/></Labels>
    </View>"""
    task = {"id": 9, "data": {
        "dialogue": [{"author": "Human", "text": "Hi 👋"}, {"author": "Bot", "text": "Hello 🙂 friend"},
                     {"author": "Moderator", "text": "ok"}],
        "answer_2": "Second 🥈 answer", "answer_1": "First answer",
    }, "annotations": [{"completed_by": {"email": "x@y.z"}, "result": [
        {"id": "a", "from_name": "err", "to_name": "chat", "type": "paragraphlabels",
         "value": {"start": "1", "end": "1", "startOffset": 9, "endOffset": 15, "text": "friend",
                   "paragraphlabels": ["bad"]}},
        {"id": "b", "from_name": "hl", "to_name": "r2", "type": "labels",
         "value": {"start": 10, "end": 16, "text": "answer", "labels": ["wrong"]}},
    ]}]}
    (_, record), = tasks_to_records([task], "preference", template("preference")["questions"], "f.json",
                                    config=config)
    assert [m["role"] for m in record["messages"]] == ["user", "assistant", "user"]
    assert record["messages"][2]["speaker"] == "Moderator"
    assert [r["id"] for r in record["responses"]] == ["1", "2"]
    values = record["annotations"][0]["values"]
    assert values["err"] == [{"target": "messages.1", "start": 8, "end": 14, "label": "bad"}]
    assert values["hl"] == [{"target": "responses.2", "start": 9, "end": 15, "label": "wrong"}]


def test_foreign_paragraph_region_across_turns_is_split():
    task = {"data": {"messages": [{"role": "user", "content": "abc"}, {"role": "assistant", "content": "defg"}]},
            "annotations": [{"completed_by": 4, "result": [
                {"id": "z", "from_name": "errors", "to_name": "messages", "type": "paragraphlabels",
                 "value": {"start": 0, "end": 1, "startOffset": 1, "endOffset": 2,
                           "paragraphlabels": ["off-topic"]}}]}]}
    (_, record), = tasks_to_records([task], "conversation", template("conversation")["questions"], "f.json")
    assert record["annotations"][0]["values"]["errors"] == [
        {"target": "messages.0", "start": 1, "end": 3, "label": "off-topic"},
        {"target": "messages.1", "start": 0, "end": 2, "label": "off-topic"}]


def test_code_point_offsets_from_other_tools_are_recognised_by_their_text():
    text = "🙂 Bern is nice"
    task = {"data": {"prompt": text}, "annotations": [{"completed_by": 1, "result": [
        {"id": "q", "from_name": "lbl", "to_name": "prompt", "type": "labels",
         "value": {"start": 2, "end": 6, "text": "Bern", "labels": ["LOC"]}}]}]}
    (_, record), = tasks_to_records([task], "instruction", [], "f.json")
    assert record["annotations"][0]["values"]["lbl"] == [
        {"target": "messages.0", "start": 2, "end": 6, "label": "LOC"}]


@pytest.mark.parametrize("mutate, field", [
    (lambda t: t.__setitem__("data", "oops"), "data"),
    (lambda t: t["data"].clear() or t["data"].update(other=1), "data: no prompt"),
    (lambda t: t["annotations"][0]["result"][0].pop("from_name"), "annotations[0].result[0].from_name"),
    (lambda t: t["annotations"][0]["result"][0]["value"].update(start="x"), "annotations[0].result[0].value.start"),
    (lambda t: t["annotations"][0]["result"][0]["value"].update(start=6, end=7, text=None),
     "annotations[0].result[0].value: offset 6 falls inside a surrogate pair"),
    (lambda t: t["annotations"][0].update(lead_time=-1), "annotations[0].lead_time"),
    (lambda t: t["annotations"][0].update(result={}), "annotations[0].result"),
])
def test_bad_input_names_task_and_field(mutate, field):
    tasks = foreign_export()
    mutate(tasks[0])
    with pytest.raises(ValueError) as info:
        list(tasks_to_records([tasks[1], tasks[0]], "instruction", FOREIGN_QUESTIONS, "bad.json"))
    assert "bad.json#task[1]" in str(info.value) and field in str(info.value)


def test_bad_own_task_and_schema_errors_name_task():
    tpl, _, _, tasks, _ = export("preference")
    broken = copy.deepcopy(tasks[0])
    broken["data"]["labeldesk"]["content"]["responses"] = "nope"
    with pytest.raises(ValueError, match=r"x\.json#task\[1\]: data\.labeldesk\.content\.responses"):
        list(tasks_to_records([tasks[0], broken], tpl["kind"], tpl["questions"], "x.json"))
    broken = copy.deepcopy(tasks[0])
    broken["data"]["labeldesk"]["record"]["safety"] = {"verdict": "maybe"}
    with pytest.raises(ValueError, match=r"x\.json#task\[0\]: record safety\.verdict"):
        list(tasks_to_records([broken], tpl["kind"], tpl["questions"], "x.json"))


def test_invalid_record_is_refused_on_export():
    record = instruction_record()
    record["kind"] = "novel"
    with pytest.raises(ValueError, match="ins-1"):
        list(records_to_tasks([record], "instruction", template("instruction")["questions"]))


# ---------------------------------------------------------------------------------------
# the Label Studio SDK's own validator, where it is installed (it is not a test dependency)


def test_label_studio_sdk_accepts_configs_and_tasks():
    interface = pytest.importorskip("label_studio_sdk.label_interface").LabelInterface
    for case in CASES:
        tpl, record, config, tasks, slots = export(case)
        li = interface(config)
        li.validate()
        for task in tasks:
            for obj in li.objects:
                assert task["data"].get(obj.value_name) is not None, (case, obj.value_name)
            for annotation in task.get("annotations", []) + task.get("predictions", []):
                assert li._validate_object(annotation, return_errors=True) == [], case

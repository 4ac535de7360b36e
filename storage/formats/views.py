"""Training views: pure functions of records, in the shapes trainers load as they are.

- SFT chat: `{"id", "messages"}` (Hugging Face chat format).
- DPO: `{"id", "prompt", "chosen", "rejected"}` in TRL's conversational form.
- Safety classification: `{"id", "text", "label", "categories", "expected_behavior"}`.
- Evaluation: `{"id", "prompt", "reference", "rubric"}`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from labeldesk.storage.vocabulary import VIEWS


def _chat(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def _ranked(record: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """Responses with their rank, best first; unranked responses are left out."""
    by_id = {r["id"]: r for r in record.get("responses", ())}
    ranks = [(r["rank"], by_id[r["response"]]) for r in record.get("ranking", ()) if r["response"] in by_id]
    return sorted(ranks, key=lambda pair: pair[0])


def reference_answer(record: dict[str, Any]) -> str | None:
    """The answer an item holds: a written reference, else the best response, else the last assistant turn."""
    labels = record.get("labels", {})
    for key in ("reference", "continuation", "response"):
        if isinstance(labels.get(key), str) and labels[key].strip():
            return labels[key]
    ranked = _ranked(record)
    if ranked:
        return ranked[0][1]["content"]
    messages = record.get("messages", ())
    if messages and messages[-1]["role"] == "assistant":
        return messages[-1]["content"]
    return None


def _prompt_turns(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation up to the answer: a trailing assistant turn is the answer, not the prompt."""
    messages = list(record.get("messages", ()))
    if messages and messages[-1]["role"] == "assistant" and not record.get("responses"):
        messages = messages[:-1]
    return messages


def sft(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    prompt = _prompt_turns(record)
    answer = reference_answer(record)
    if not prompt or answer is None:
        return
    yield {"id": record["id"], "messages": _chat(prompt) + [{"role": "assistant", "content": answer}]}


def dpo(record: dict[str, Any], pairing: str = "all") -> Iterator[dict[str, Any]]:
    """Every preference a ranking implies (ties imply none), or the best against each other."""
    ranked = _ranked(record)
    prompt = _chat(_prompt_turns(record))
    if len(ranked) < 2 or not prompt:
        return
    best_rank = ranked[0][0]
    for i, (rank_a, better) in enumerate(ranked):
        if pairing == "best-vs-rest" and rank_a != best_rank:
            break
        for rank_b, worse in ranked[i + 1 :]:
            if rank_b == rank_a:
                continue
            yield {
                "id": f"{record['id']}:{better['id']}>{worse['id']}",
                "prompt": prompt,
                "chosen": [{"role": "assistant", "content": better["content"]}],
                "rejected": [{"role": "assistant", "content": worse["content"]}],
            }


def _as_text(record: dict[str, Any]) -> str:
    parts = [f"{m['role']}: {m['content']}" for m in record.get("messages", ())]
    parts += [f"response {r['id']}: {r['content']}" for r in record.get("responses", ())]
    return "\n\n".join(parts)


def safety(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    verdict = record.get("safety", {}).get("verdict")
    if verdict is None:
        return
    yield {
        "id": record["id"],
        "text": _as_text(record),
        "label": verdict,
        "categories": list(record["safety"].get("categories", [])),
        "expected_behavior": record["safety"].get("expected_behavior", ""),
    }


def evaluation(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    prompt = _prompt_turns(record)
    reference = reference_answer(record)
    if not prompt or reference is None:
        return
    rubric = record.get("labels", {}).get("rubric", "")
    yield {
        "id": record["id"],
        "prompt": "\n\n".join(m["content"] for m in prompt if m["role"] != "system"),
        "reference": reference,
        "rubric": rubric if isinstance(rubric, str) else str(rubric),
    }


def view_rows(view: str, record: dict[str, Any], pairing: str = "all") -> Iterator[dict[str, Any]]:
    if view == "sft":
        return sft(record)
    if view == "dpo":
        return dpo(record, pairing)
    if view == "safety":
        return safety(record)
    if view == "eval":
        return evaluation(record)
    raise ValueError(f"unknown view {view!r}; one of {', '.join(VIEWS)}")

"""Projects, their question config and their versioned guidelines."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from labeldesk.app.workflow.permissions import Actor, require
from labeldesk.storage.catalog import Execute, ProjectInfo, project_info, project_infos, slugify
from labeldesk.storage.db import Workspace
from labeldesk.storage.models import Guideline, Project
from labeldesk.storage.vocabulary import KINDS, TEMPLATE_KINDS, TEMPLATE_NAMES
QUESTION_TYPES = ("text", "choice", "multi_choice", "rating", "ranking", "spans", "segments", "safety", "dialogue")


class ProjectError(ValueError):
    """A project operation that cannot be done; the message says why."""


def _resource_text(*parts: str) -> str:
    return resources.files("labeldesk.resources").joinpath(*parts).read_text(encoding="utf-8")


def load_template(kind_or_path: str | Path) -> dict[str, Any]:
    """A built-in template by name, or a lead's edited copy by path."""
    if isinstance(kind_or_path, Path) or str(kind_or_path).endswith((".yaml", ".yml")):
        path = Path(kind_or_path)
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ProjectError(f"{path}: cannot read template: {exc}") from None
        source = str(path)
    else:
        if kind_or_path not in TEMPLATE_NAMES:
            raise ProjectError(f"unknown kind {kind_or_path!r}; one of {', '.join(TEMPLATE_NAMES)}")
        config = yaml.safe_load(_resource_text("templates", f"{kind_or_path}.yaml"))
        source = f"template {kind_or_path}"
    check_config(config, source)
    return config


def check_config(config: Any, source: str) -> None:
    if not isinstance(config, dict):
        raise ProjectError(f"{source}: a template is a mapping with kind and questions")
    if config.get("kind") not in KINDS:
        raise ProjectError(f"{source}: kind: {config.get('kind')!r} is not one of {', '.join(KINDS)}")
    questions = config.get("questions")
    if not isinstance(questions, list) or not questions:
        raise ProjectError(f"{source}: questions: a template needs at least one question")
    seen: set[str] = set()
    for i, q in enumerate(questions):
        where = f"{source}: questions[{i}]"
        if not isinstance(q, dict) or not q.get("name"):
            raise ProjectError(f"{where}: name: every question needs a name")
        if q["name"] in seen:
            raise ProjectError(f"{where}: name: {q['name']!r} is used twice")
        seen.add(q["name"])
        if q.get("type") not in QUESTION_TYPES:
            raise ProjectError(f"{where}: type: {q.get('type')!r} is not one of {', '.join(QUESTION_TYPES)}")
        if q["type"] in ("choice", "multi_choice") and not q.get("options"):
            raise ProjectError(f"{where}: options: a {q['type']} question needs options")
        if q["type"] == "rating" and not int(q.get("min", 1)) < int(q.get("max", 5)):
            raise ProjectError(f"{where}: min/max: min must be below max")
    overlap = config.get("overlap", 1)
    if not isinstance(overlap, int) or overlap < 1:
        raise ProjectError(f"{source}: overlap: must be a whole number of at least 1")


def default_guidelines(config: dict[str, Any]) -> str:
    lines = [f"# {config.get('title', 'Guidelines')}", "", "Answer every question for each task:", ""]
    for q in config["questions"]:
        lines.append(f"- **{q['name']}** ({q['type']}): {q.get('prompt', '')}".rstrip(": "))
    lines += ["", "When a case is unclear, use *Flag: guideline unclear* and say why."]
    return "\n".join(lines) + "\n"


def create_project(ws: Workspace, lead: Actor, name: str, kind: str, template: str | Path | None = None) -> ProjectInfo:
    """A project from a built-in template (`kind`) or a lead's edited copy, with guideline version 1."""
    config = load_template(template if template is not None else kind)
    expected = TEMPLATE_KINDS.get(kind, kind)
    if config["kind"] != expected:
        raise ProjectError(f"template kind {config['kind']!r} does not match --kind {kind}")
    if not name.strip():
        raise ProjectError("a project needs a name")
    with ws.transaction() as session:
        require(session, lead, "create projects")
        if session.scalar(select(Project.id).where(Project.name == name)) is not None:
            raise ProjectError(f"project {name!r} exists already")
        project = Project(name=name, kind=config["kind"], config=config, overlap=int(config.get("overlap", 1)))
        session.add(project)
        session.flush()
        text = config.get("guidelines") or default_guidelines(config)
        session.add(Guideline(project_id=project.id, version=1, text=text, note="initial"))
    return get_project(ws, name)


def _execute(session: Session) -> Execute:
    return lambda sql, params: session.execute(text(sql), params).all()


def _find(session: Session, name: str) -> Project:
    """A project by its name, or else by its slug when exactly one project has it."""
    project = session.scalar(select(Project).where(Project.name == name))
    if project is not None:
        return project
    known = session.scalars(select(Project.name).order_by(Project.name)).all()
    by_slug = [n for n in known if slugify(n) == name]
    if len(by_slug) == 1:
        return session.scalar(select(Project).where(Project.name == by_slug[0]))
    if by_slug:
        raise ProjectError(f"{name!r} is the slug of several projects ({', '.join(by_slug)}): give the full name")
    hint = f"; projects here: {', '.join(known)}" if known else "; this workspace has no projects yet"
    raise ProjectError(f"no project named {name!r}{hint}")


def get_project(ws: Workspace, name: str, with_counts: bool = False) -> ProjectInfo:
    with ws.sessions() as session:
        return project_info(_execute(session), _find(session, name).id, with_counts)


def list_projects(ws: Workspace) -> list[ProjectInfo]:
    with ws.sessions() as session:
        return project_infos(_execute(session))


def publish_guidelines(ws: Workspace, lead: Actor, project_name: str, text: str, note: str = "") -> int:
    """Store a new guideline version; annotators must acknowledge it before their next task."""
    project = get_project(ws, project_name)
    with ws.transaction() as session:
        require(session, lead, "publish guidelines")
        version = (session.scalar(select(func.max(Guideline.version)).where(Guideline.project_id == project.id)) or 0) + 1
        session.add(Guideline(project_id=project.id, version=version, text=text, note=note))
    return version


def guidelines(ws: Workspace, project_name: str, version: int | None = None) -> tuple[int, str]:
    project = get_project(ws, project_name)
    with ws.sessions() as session:
        query = select(Guideline.version, Guideline.text).where(Guideline.project_id == project.id)
        query = query.where(Guideline.version == version) if version else query.order_by(Guideline.version.desc())
        row = session.execute(query.limit(1)).first()
    if row is None:
        raise ProjectError(f"project {project_name!r} has no guideline version {version}")
    return row.version, row.text

"""Accounts: argon2 passwords, signing in, the first lead, the last lead, the local lead."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labeldesk.app.workflow import accounts
from labeldesk.app.workflow.accounts import AccountError, SignInFailed
from labeldesk.app.workflow.permissions import PermissionDenied
from labeldesk.storage.db import Workspace
from labeldesk.storage.models import User


def test_accounts_and_sign_in(team) -> None:
    ws = team.ws
    info = accounts.add_user(ws, team.lead, "maria", "annotator", "correct horse", ["Medical", "legal "], ["de_at", "EN"])
    assert (info.domains, info.locales, info.has_password) == (("legal", "medical"), ("de-AT", "en"), True)
    with ws.sessions() as s:
        stored = s.scalar(select(User.password_hash).where(User.name == "maria"))
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert accounts.sign_in(ws, "maria", "correct horse").role == "annotator"
    for name, password in (("maria", "wrong password"), ("nobody", "correct horse"), ("maria", None)):
        with pytest.raises(SignInFailed, match="wrong name or password"):
            accounts.sign_in(ws, name, password)
    with pytest.raises(AccountError, match="exists already"):
        accounts.add_user(ws, team.lead, "maria", "annotator", "another one")
    with pytest.raises(AccountError, match="at least 8"):
        accounts.add_user(ws, team.lead, "short", "annotator", "1234")
    with pytest.raises(AccountError, match="unknown role"):
        accounts.add_user(ws, team.lead, "x", "boss", "long enough")
    accounts.update_user(ws, team.lead, "maria", role="reviewer", password="new password!")
    assert accounts.sign_in(ws, "maria", "new password!").role == "reviewer"
    accounts.update_user(ws, team.lead, "maria", active=False)
    with pytest.raises(SignInFailed):
        accounts.sign_in(ws, "maria", "new password!")
    assert [u.name for u in accounts.list_users(ws, team.lead)] == ["lead", "maria"]


def test_the_first_and_the_last_lead(team) -> None:
    ws = team.ws
    with pytest.raises(PermissionDenied, match="has a lead"):
        accounts.create_first_lead(ws, "intruder", "long enough")
    with pytest.raises(AccountError, match="only lead"):
        accounts.update_user(ws, team.lead, "lead", role="annotator")
    accounts.add_user(ws, team.lead, "second", "lead", "long enough")
    accounts.update_user(ws, team.lead, "lead", role="reviewer")  # another lead remains


def test_shared_workspaces_need_passwords(pg_url: str) -> None:
    ws = Workspace.open(pg_url, create=True)
    try:
        with pytest.raises(SignInFailed, match="shared workspace"):
            accounts.local_actor(ws)
        lead = accounts.create_first_lead(ws, "boss", "boss password")
        with pytest.raises(AccountError, match="need a password"):
            accounts.add_user(ws, lead, "nopass", "annotator")
        with ws.transaction() as s:  # e.g. an annotator created by an import
            s.add(User(name="imported", role="annotator", domains=[], locales=[]))
        with pytest.raises(SignInFailed, match="no password yet"):
            accounts.sign_in(ws, "imported", None)
        accounts.update_user(ws, lead, "imported", password="now it has one")
        assert accounts.sign_in(ws, "imported", "now it has one").name == "imported"
    finally:
        ws.close()


def test_a_personal_workspace_is_run_by_its_local_lead(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "me")
    ws = Workspace.open(tmp_path / "w", create=True)
    me = accounts.local_actor(ws)
    assert (me.name, me.role) == ("me", "lead")
    assert accounts.sign_in(ws, "me", None) == me, "no password on a personal workspace unless one was set"
    ws.close()

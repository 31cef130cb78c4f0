"""The audit log's hash chain: intact chains verify; edits, deletions and reordering are found,
naming the first bad entry; the database refuses UPDATE and DELETE on the log."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from groomwatch.hotline import audit
from groomwatch.hotline.models import AuditEntry


def _fill(session: Session, n: int = 5) -> None:
    for i in range(n):
        audit.record(
            session,
            actor="user:1",
            action="report.view",
            object_type="report",
            object_id=i,
            details={"i": i},
        )
    session.commit()


def _drop_guards(session: Session) -> None:
    """What an attacker with database-owner rights would do first."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("DROP TRIGGER hotline_audit_log_no_change ON hotline_audit_log"))
    else:
        session.execute(text("DROP TRIGGER hotline_audit_log_no_update"))
        session.execute(text("DROP TRIGGER hotline_audit_log_no_delete"))
    session.commit()


def test_intact_chain_verifies(session: Session) -> None:
    _fill(session, 7)
    result = audit.verify(session)
    assert result.ok, result
    assert result.entries == 7
    assert result.head == session.query(AuditEntry).order_by(AuditEntry.seq.desc()).first().hash
    first = session.query(AuditEntry).filter_by(seq=1).one()
    assert first.prev_hash == audit.GENESIS


def test_empty_log_verifies(session: Session) -> None:
    result = audit.verify(session)
    assert result.ok
    assert result.entries == 0
    assert result.head == audit.GENESIS


def test_database_refuses_update_and_delete(session: Session) -> None:
    _fill(session, 2)
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text("UPDATE hotline_audit_log SET actor = 'x' WHERE seq = 1"))
    session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text("DELETE FROM hotline_audit_log WHERE seq = 2"))
    session.rollback()
    assert audit.verify(session).ok


def test_edited_entry_is_found(session: Session) -> None:
    _fill(session, 5)
    _drop_guards(session)
    session.execute(
        text("UPDATE hotline_audit_log SET details = :d WHERE seq = 3"), {"d": '{"i":99}'}
    )
    session.commit()
    result = audit.verify(session)
    assert not result.ok
    assert result.first_bad == 3
    assert "edited" in (result.problem or "")


def test_edit_with_recomputed_hash_breaks_the_next_link(session: Session) -> None:
    _fill(session, 5)
    _drop_guards(session)
    row = session.query(AuditEntry).filter_by(seq=2).one()
    forged = audit.entry_hash(
        seq=2,
        at=row.at,
        actor="user:666",
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        details=row.details,
        prev_hash=row.prev_hash,
    )
    session.execute(
        text("UPDATE hotline_audit_log SET actor = 'user:666', hash = :h WHERE seq = 2"),
        {"h": forged},
    )
    session.commit()
    result = audit.verify(session)
    assert not result.ok
    assert result.first_bad == 3


def test_deleted_entry_is_found(session: Session) -> None:
    _fill(session, 5)
    _drop_guards(session)
    session.execute(text("DELETE FROM hotline_audit_log WHERE seq = 4"))
    session.commit()
    result = audit.verify(session)
    assert not result.ok
    assert result.first_bad == 5


def test_reordered_entries_are_found(session: Session) -> None:
    _fill(session, 5)
    _drop_guards(session)
    # Swap the row ids of entries 2 and 3 (the order the database hands them back in).
    session.execute(text("UPDATE hotline_audit_log SET id = -2 WHERE seq = 2"))
    session.execute(text("UPDATE hotline_audit_log SET id = 2 WHERE seq = 3"))
    session.execute(text("UPDATE hotline_audit_log SET id = 3 WHERE seq = 2"))
    session.commit()
    result = audit.verify(session)
    assert not result.ok
    assert result.first_bad == 3


def test_truncated_tail_is_found_with_the_expected_head(session: Session) -> None:
    _fill(session, 5)
    head = audit.verify(session).head
    _drop_guards(session)
    session.execute(text("DELETE FROM hotline_audit_log WHERE seq = 5"))
    session.commit()
    assert audit.verify(session).ok  # the chain alone cannot see a cut tail
    result = audit.verify(session, expect_head=head)
    assert not result.ok
    assert result.first_bad == 5

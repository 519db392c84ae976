from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from enr_support import enrolment, face_b64, iso_record
from sqlalchemy import select

from central.db import Database
from central.enrolments import importer, service
from central.enrolments.errors import (
    EnrolmentNotFound,
    EnrolmentRejected,
    ImportRejected,
)
from central.enrolments.models import Enrolment
from central.models import AuditEntry
from central.services.audit import Actor

BACKOFFICE = Actor(username="bo-1", role="backoffice", ip="10.0.0.9")


def test_create_stores_templates_normalised_key_and_audit(db: Database) -> None:
    with db.session() as s:
        row = service.create(s, enrolment("x 1234-567<<"), BACKOFFICE)
        s.commit()
        assert row.document_number == "X1234567"
        assert row.source == "issuance" and row.active and row.created_by == "bo-1"
        assert len(row.face_template) == 512 and row.fingerprint_iso == iso_record()
        [entry] = s.scalars(select(AuditEntry)).all()
        assert entry.action == "enrolment.create"
        assert "SITI" not in json.dumps(entry.details)  # the audit log holds no identity or template
        assert service.lookup(s, "x1234567", "idn")[0].id == row.id


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"face_template": base64.b64encode(b"\0" * 100).decode()}, "face_template"),
        ({"face_template": base64.b64encode(np.ones(128, "<f4").tobytes()).decode()}, "face_template"),
        ({"face_template": "***"}, "face_template"),
        ({"fingerprint_iso": base64.b64encode(b"FMR\0 21\0" + b"\0" * 20).decode()}, "fingerprint_iso"),
        ({"face_model": None}, "enrolment"),
        ({"face_template": None, "fingerprint_iso": None}, "enrolment"),
        ({"sex": "Q"}, "sex"),
        ({"finger_position": 11}, "finger_position"),
        ({"document_number": "AB#12"}, "document_number"),
        ({"face_image": "..."}, "face_image"),  # raw images are refused: minimisation
    ],
)
def test_invalid_enrolment_names_the_field(db: Database, overrides: dict, field: str) -> None:
    with db.session() as s, pytest.raises(EnrolmentRejected) as info:
        service.create(s, enrolment(**overrides), BACKOFFICE)
    assert info.value.field == field


def test_face_only_and_fingerprint_only_are_accepted(db: Database) -> None:
    with db.session() as s:
        face_only = service.create(s, enrolment("A1", fingerprint_iso=None, finger_position=None), BACKOFFICE)
        finger_only = service.create(s, enrolment("A2", face_template=None, face_model=None), BACKOFFICE)
        assert face_only.fingerprint_iso is None and finger_only.face_template is None


def test_re_enrolment_replaces_and_wipes_the_old_templates(db: Database) -> None:
    with db.session() as s:
        first = service.create(s, enrolment(face_template=face_b64(1)), BACKOFFICE)
        second = service.create(s, enrolment(face_template=face_b64(2)), BACKOFFICE)
        s.commit()
        assert [r.id for r in service.lookup(s, "X1234567")] == [second.id]
        s.refresh(first)
        assert not first.active and first.face_template is None and first.fingerprint_iso is None
        assert first.deactivation_reason == "replaced"
        # Another issuing state's document with the same number is a different enrolment.
        other = service.create(s, enrolment(issuing_state="MYS"), BACKOFFICE)
        assert {r.id for r in service.lookup(s, "X1234567")} == {second.id, other.id}


def test_deactivate_wipes_templates_and_is_audited(db: Database) -> None:
    with db.session() as s:
        row = service.create(s, enrolment(), BACKOFFICE)
        s.commit()
        service.deactivate(s, row.id, BACKOFFICE, "passport reported lost")
        s.commit()
        assert service.lookup(s, "X1234567") == []
        assert row.face_template is None and row.deactivated_by == "bo-1"
        assert s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()[-1] == "enrolment.deactivate"
        with pytest.raises(EnrolmentNotFound):
            service.deactivate(s, row.id, BACKOFFICE, "again")


def _csv(rows: list[dict]) -> str:
    columns = list(enrolment().keys())
    lines = [",".join(columns)] + [",".join(str(r.get(c, "")) for c in columns) for r in rows]
    return "\n".join(lines) + "\n"


def test_import_jsonl_and_csv(db: Database) -> None:
    jsonl = "\n".join(json.dumps(enrolment(f"J{i}")) for i in range(3)) + "\n\n"
    csv_text = _csv([enrolment("C1"), enrolment("C2", face_template=None, face_model=None, face_model_version=None)])
    with db.session() as s:
        assert service.import_items(s, importer.read(jsonl, "jsonl"), BACKOFFICE, source_name="a.jsonl") == {
            "imported": 3, "replaced": 0}
        assert service.import_items(s, importer.read(csv_text, "csv"), BACKOFFICE, source_name="b.csv") == {
            "imported": 2, "replaced": 0}
        s.commit()
        rows = s.scalars(select(Enrolment).where(Enrolment.active.is_(True))).all()
        assert {r.source for r in rows} == {"import"} and len(rows) == 5
        assert service.lookup(s, "C2")[0].face_template is None
    assert importer.guess_format("x.csv", "{") == "csv" and importer.guess_format("x", '{"a":1}') == "jsonl"


def test_import_is_all_or_nothing_and_lists_every_bad_row(db: Database) -> None:
    lines = [json.dumps(enrolment("OK1")), "not json", json.dumps(enrolment("B2", sex="Q")),
             json.dumps(enrolment("OK1"))]
    with db.session() as s:
        with pytest.raises(ImportRejected) as info:
            service.import_items(s, importer.read("\n".join(lines), "jsonl"), BACKOFFICE, source_name="bad.jsonl")
        s.commit()
        assert [(row, field) for row, field, _m in info.value.errors] == [(2, "enrolment"), (3, "sex"), (4, "document_number")]
        assert s.scalars(select(Enrolment)).all() == []
        assert s.scalars(select(AuditEntry.action)).all() == ["enrolment.import_refused"]
        with pytest.raises(ImportRejected):
            service.import_items(s, [], BACKOFFICE, source_name="empty.csv")


def test_cli_import_and_show(db: Database, tmp_path, monkeypatch, capsys) -> None:
    from central.enrolments import cli

    monkeypatch.setenv("AUTOGATE_CENTRAL_DEMO_MODE", "true")
    monkeypatch.setenv("AUTOGATE_CENTRAL_DATABASE_URL", db.url)
    good = tmp_path / "batch.jsonl"
    good.write_text(json.dumps(enrolment("K1")) + "\n", encoding="utf-8")
    assert cli.main(["import", str(good), "--by", "bo-7"]) == 0
    assert "1 imported" in capsys.readouterr().out
    assert cli.main(["show", "k1"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown[0]["document_number"] == "K1" and "face_template" not in json.dumps(shown)
    bad = tmp_path / "bad.csv"
    bad.write_text(_csv([enrolment("K2", sex="Q")]), encoding="utf-8")
    assert cli.main(["import", str(bad)]) == 1
    assert "row 2, sex" in capsys.readouterr().err
    assert cli.main(["deactivate", str(shown[0]["id"]), "--reason", "withdrawn"]) == 0
    assert cli.main(["show", "K1"]) == 1

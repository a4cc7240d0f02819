"""Legacy import (issue 17; RET-05): complaints of a paper-era ledger keep their numbers, dates, classes and outcomes,
are marked as migrated, and reconcile (rows and content SHA-256) in a report the head of quality signs; a file
with a duplicate number, a date in the future or an unknown product is refused whole, every bad row listed, nothing
stored. SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib
import io

import pytest
import sqlalchemy as sa

from tests.integration.test_complaints_api import api, registration, settings  # noqa: F401 (fixtures)

HEADER = "投诉编号,接收日期,产品代码,批号,投诉类型,级别,状态,关闭日期,投诉内容\n"
GOOD = HEADER + (
    "TS-II-26-001,2026-01-15,P-001,B2601,外包装问题 (outer_packaging),II,已关闭 (closed),2026-02-20,小盒压损\n"
    "TS-III-26-001,2026-03-02,P-001,,other,III,closed,2026-03-30,说明书字迹模糊\n"
    "TS-II-26-003,2026-04-10,P-001,B2602,inner_packaging,II,void,,重复登记\n")


def _upload(api, who: str, text: str, name: str = "台账.csv"):
    username, password = api.credentials[who]
    return api.client.post("/api/v1/legacy-imports", headers={"Authorization": f"Bearer {api.tokens[who]}"},
                           data={"file": (io.BytesIO(text.encode()), name), "username": username, "password": password})


def _counts(app) -> tuple:
    """The records and the business audit trail (a refused access leaves only its security event)."""
    with app.extensions["gmp_engine"].connect() as connection:
        return tuple(connection.execute(sa.text(query)).scalar_one() for query in (
            "SELECT count(*) FROM complaints", "SELECT count(*) FROM legacy_imports", "SELECT count(*) FROM signatures",
            "SELECT count(*) FROM audit_events WHERE action NOT LIKE 'user.%'"))


@pytest.mark.req("RET-05")
def test_a_legacy_ledger_is_imported_with_its_numbers_and_reconciled_by_a_signed_report(app, api):
    response = _upload(api, "qa_head", GOOD)
    assert response.status_code == 201, response.get_json()
    report = response.get_json()
    assert (report["rows_read"], report["rows_imported"], report["rows_refused"]) == (3, 3, 0)
    assert report["file_sha256"] == hashlib.sha256(GOOD.encode()).hexdigest()
    assert report["signature"]["meaning"] == "approved" and report["signature"]["signer_name"] == "Liu.Yang Tester"
    with app.extensions["gmp_engine"].connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT number, status, complaint_class, received_on, closed_on, legacy_import_id FROM complaints "
            "ORDER BY number")).all()
    assert [(r[0], r[1], r[2]) for r in rows] == [("TS-II-26-001", "closed", "II"), ("TS-II-26-003", "void", "II"),
                                                 ("TS-III-26-001", "closed", "III")]
    assert {r[5] for r in rows} == {report["id"]}
    from gmp_complaints import unit_of_work
    from gmp_complaints.services.legacy_import import stored_content

    from audit.integrity import integrity_check

    uow = unit_of_work(app)
    with uow:
        assert stored_content(uow.session, report["id"]) == report["content_sha256"]  # reconciles after the import
    assert integrity_check(unit_of_work(app)) == []  # the migrated records agree with their audit trail
    # Numbering goes on after the imported numbers: the next class II complaint of 2026 is TS-II-26-004.
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    api.ok("qa_officer", f"/complaints/{cid}/validity", {"information_complete": True, "substantiated": True})
    numbered = api.ok("qa_officer", f"/complaints/{cid}/classification",
                      {"complaint_class": "II", "rationale": "r", "adr_suspected": False})
    assert numbered["number"] == "TS-II-26-004"


@pytest.mark.req("RET-05", "VAL-03")
def test_a_file_with_bad_rows_is_refused_whole_every_bad_row_named(app, api):
    assert _upload(api, "qa_head", GOOD).status_code == 201
    before = _counts(app)
    bad = HEADER + (
        "TS-II-26-010,2026-05-01,P-001,B2601,other,II,closed,2026-05-20,好\n"
        "TS-II-26-001,2026-01-15,P-001,B2601,other,II,closed,2026-02-20,重复号（已导入）\n"
        "TS-III-26-002,2099-01-01,P-001,,other,III,closed,2099-02-01,未来日期\n"
        "TS-II-26-011,2026-05-02,NOPE,,other,II,closed,2026-05-20,未知产品\n"
        "TS-II-26-012,2026-05-03,P-001,B9999,other,II,closed,2026-05-20,未知批号\n"
        "TS-II-26-010,2026-05-04,P-001,,other,II,closed,2026-05-20,文件内重复\n")
    refused = _upload(api, "qa_head", bad)
    assert refused.status_code == 400
    problems = refused.get_json()["error"]["fields"]["file"]
    by_line: dict[str, list[str]] = {}
    for problem in problems:
        line, _, text = problem.partition(": ")
        by_line.setdefault(line, []).append(text)
    assert sorted(by_line) == ["line 3", "line 4", "line 5", "line 6", "line 7"]  # line 2 is good, yet not imported
    assert "exists already" in " ".join(by_line["line 3"]) and "future" in " ".join(by_line["line 4"])
    assert "unknown product NOPE" in " ".join(by_line["line 5"])
    assert "unknown batch B9999" in " ".join(by_line["line 6"]) and "also on line 2" in " ".join(by_line["line 7"])
    assert _counts(app) == before
    assert _upload(api, "qa_officer", GOOD).status_code == 403  # only the head of quality
    wrong_columns = _upload(api, "qa_head", "a,b,c\n1,2,3\n")
    assert wrong_columns.status_code == 400 and "Column missing" in str(wrong_columns.get_json())
    assert _counts(app) == before

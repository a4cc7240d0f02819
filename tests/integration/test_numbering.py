"""TS numbers under concurrency (REC-04, REC-06): 50 classifications from parallel connections get 50
distinct consecutive serials; a rolled-back classification leaves no gap. SQLite and PostgreSQL."""
import threading

import pytest
import sqlalchemy as sa

from gmp_complaints.db import make_engine, make_session_factory
from gmp_complaints.domain.roles import Actor
from gmp_complaints.services import complaint_intake, complaint_steps, master_data
from gmp_complaints.services.numbering import take_serial
from gmp_complaints.uow import UnitOfWork
from tests.integration.test_complaints_api import registration

WORKERS = 8


@pytest.fixture
def substantiated_complaints(settings, uow_factory, make_user):
    qa_id, _ = make_user("li.na", "qa_officer")
    actor = Actor(qa_id, frozenset({"qa_officer"}))
    master_data.create_product(uow_factory(), {"code": "P-001", "name": "x", "strength": "1", "dosage_form": "t"},
                               actor_id=qa_id)
    master_data.create_batch(uow_factory(), {"product_code": "P-001", "batch_no": "B2602",
                                             "manufactured_on": "2026-02-10", "expires_on": "2028-02-09"}, actor_id=qa_id)

    def make(count):
        ids = []
        for _ in range(count):
            cid = complaint_intake.register_complaint(uow_factory(), registration(received_on="2026-03-01"), actor=actor)["id"]
            complaint_steps.record_validity(uow_factory(), cid, {"information_complete": True, "substantiated": True},
                                       actor=actor)
            ids.append(cid)
        return ids

    return actor, make


@pytest.mark.req("REC-06", "VAL-03")
def test_fifty_parallel_classifications_get_fifty_consecutive_numbers(settings, database_url, substantiated_complaints):
    actor, make = substantiated_complaints
    ids = make(50)
    engines = [make_engine(database_url) for _ in range(WORKERS)]
    numbers, failures = [], []
    barrier = threading.Barrier(WORKERS)

    def classify_share(worker: int):
        factory = make_session_factory(engines[worker])
        barrier.wait()
        for cid in ids[worker::WORKERS]:
            try:
                numbers.append(complaint_steps.classify(UnitOfWork(factory, settings), cid, {
                    "complaint_class": "I", "rationale": "产品混淆", "adr_suspected": False}, actor=actor)["number"])
            except Exception as exc:  # noqa: BLE001 — the test reports every failure, whatever it is
                failures.append(repr(exc))

    threads = [threading.Thread(target=classify_share, args=(w,)) for w in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert failures == []
    assert sorted(numbers) == [f"TS-I-26-{n:03d}" for n in range(1, 51)]


@pytest.mark.req("REC-06")
def test_a_rolled_back_classification_leaves_no_gap(settings, uow_factory, substantiated_complaints):
    actor, make = substantiated_complaints
    first, second = make(2)
    assert complaint_steps.classify(uow_factory(), first, {"complaint_class": "II", "rationale": "r",
                                                      "adr_suspected": False}, actor=actor)["number"] == "TS-II-26-001"
    uow = uow_factory()
    with uow:  # a classification that fails after taking its number, and is rolled back
        assert take_serial(uow, "TS:II-26") == 2
    assert complaint_steps.classify(uow_factory(), second, {"complaint_class": "II", "rationale": "r",
                                                       "adr_suspected": False}, actor=actor)["number"] == "TS-II-26-002"


@pytest.mark.req("REC-04", "REC-05")
def test_the_database_refuses_a_duplicate_or_a_changed_number(app, settings, uow_factory, substantiated_complaints):
    from tests.conftest import execute_sql

    actor, make = substantiated_complaints
    first, second = make(2)
    for cid in (first, second):
        complaint_steps.classify(uow_factory(), cid, {"complaint_class": "III", "rationale": "r", "adr_suspected": False},
                            actor=actor)
    with pytest.raises(sa.exc.DatabaseError):  # unique index (SQLite) or the number guard (PostgreSQL)
        execute_sql(app, "UPDATE complaints SET number = 'TS-III-26-001' WHERE id = :id", id=second)
    with pytest.raises(sa.exc.DatabaseError):
        execute_sql(app, "UPDATE complaints SET number = 'TS-III-26-999' WHERE id = :id", id=first)
    with pytest.raises(sa.exc.DatabaseError):
        execute_sql(app, "DELETE FROM complaints WHERE id = :id", id=first)

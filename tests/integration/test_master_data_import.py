"""CSV import of master data (REC-19): all rows or none, every bad row reported, a transfer log."""
import pytest
import sqlalchemy as sa

from gmp_complaints.services.imports import import_csv
from tests.conftest import csrf_token, login

PRODUCTS = "code,name,strength,dosage_form,has_expiry\nP-001,阿莫西林胶囊,0.25 g,胶囊,yes\nP-002,维生素C片,100 mg,片剂,no\n"
BATCHES = ("product_code,batch_no,manufactured_on,expires_on,released_on\n"
           "P-001,B1,2026-01-10,2028-01-09,2026-01-20\nP-001,B2,2026-02-10,2028-02-09,\nP-002,V1,2026-01-05,,\n")


def count(app, table):
    with app.extensions["gmp_engine"].connect() as connection:
        return connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


@pytest.mark.req("REC-19")
def test_a_good_file_imports_every_row_and_logs_the_transfer(app, uow_factory, make_user):
    user_id, _ = make_user("li.na", "qa_officer")
    assert import_csv(uow_factory(), kind="products", filename="p.csv", data=PRODUCTS.encode(), actor_id=user_id).rows_imported == 2
    result = import_csv(uow_factory(), kind="batches", filename="b.csv", data=("\ufeff" + BATCHES).encode(), actor_id=user_id)
    assert (result.rows_total, result.rows_imported, result.problems) == (3, 3, [])
    assert count(app, "batches") == 3
    with app.extensions["gmp_engine"].connect() as connection:
        log = connection.execute(sa.text("SELECT kind, rows_total, rows_imported, result FROM transfer_log ORDER BY id")).all()
    assert [tuple(row) for row in log] == [("products", 2, 2, "imported"), ("batches", 3, 3, "imported")]


@pytest.mark.req("REC-19")
def test_a_file_with_bad_rows_imports_nothing_and_names_every_bad_row(app, uow_factory, make_user):
    user_id, _ = make_user("li.na", "qa_officer")
    import_csv(uow_factory(), kind="products", filename="p.csv", data=PRODUCTS.encode(), actor_id=user_id)
    bad = ("product_code,batch_no,manufactured_on,expires_on,released_on\n"
           "P-001,B1,2026-01-10,2028-01-09,\n"          # fine
           "P-009,B2,2026-01-10,2028-01-09,\n"          # unknown product
           "P-001,B3,2026-13-01,2028-01-09,\n"          # bad date
           "P-001,B1,2026-01-10,2028-01-09,\n"          # duplicate of line 2
           "P-001,B4,2026-05-01,2026-04-01,\n")         # expiry before manufacture
    result = import_csv(uow_factory(), kind="batches", filename="bad.csv", data=bad.encode(), actor_id=user_id)
    assert result.rows_imported == 0
    assert [p.split(":")[0] for p in result.problems] == ["line 3", "line 4", "line 5", "line 6"]
    assert count(app, "batches") == 0
    with app.extensions["gmp_engine"].connect() as connection:
        row = connection.execute(sa.text("SELECT result, rows_total, errors FROM transfer_log WHERE kind = 'batches'")).one()
    assert row.result == "rejected" and row.rows_total == 5 and "line 3" in row.errors


@pytest.mark.req("REC-19")
def test_the_import_page_uploads_and_shows_the_report(app, client, make_user):
    _, password = make_user("li.na", "qa_officer")
    login(client, "li.na", password)
    token = csrf_token(client, "/master-data/import")
    from io import BytesIO

    response = client.post("/master-data/import", data={"csrf_token": token, "kind": "products",
                                                        "file": (BytesIO(PRODUCTS.encode()), "products.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 200 and 'id="import-result"' in response.get_data(as_text=True)
    wrong = client.post("/master-data/import", data={"csrf_token": token, "kind": "products",
                                                     "file": (BytesIO(b"a,b\n1,2\n"), "x.csv")},
                        content_type="multipart/form-data")
    assert wrong.status_code == 400 and "code,name,strength,dosage_form,has_expiry" in wrong.get_data(as_text=True)
    assert count(app, "products") == 2


@pytest.mark.req("REC-19")
def test_distribution_records_bring_the_contacts_a_recall_needs(app, uow_factory, make_user):
    user_id, _ = make_user("li.na", "qa_officer")
    import_csv(uow_factory(), kind="products", filename="p.csv", data=PRODUCTS.encode(), actor_id=user_id)
    import_csv(uow_factory(), kind="batches", filename="b.csv", data=BATCHES.encode(), actor_id=user_id)
    rows = ("product_code,batch_no,consignee,quantity,shipped_on,address,contact,phone,out_of_hours_contact,is_export,"
            "is_medical_sample\n"
            "P-001,B1,国药控股上海,100,2026-02-01,上海市浦东新区,陈经理,021-5555 0101,139 0000 0101,no,no\n"
            "P-001,B1,Apotheke Berlin,20,2026-02-03,,,,,yes,no\n"
            "P-001,B2,某医院,5,2026-03-01,,,,,no,yes\n"
            "P-001,B2,仁和大药房,50,2026-03-02\n")  # the contact columns are optional
    result = import_csv(uow_factory(), kind="distributions", filename="d.csv", data=rows.encode(), actor_id=user_id)
    assert (result.rows_imported, result.problems) == (4, [])
    bad = ("product_code,batch_no,consignee,quantity,shipped_on,address,contact,phone,out_of_hours_contact,is_export\n"
           "P-001,B1,X,1,2026-02-01,,,,,perhaps\n")
    refused = import_csv(uow_factory(), kind="distributions", filename="bad.csv", data=bad.encode(), actor_id=user_id)
    assert refused.rows_imported == 0 and "is_export" in refused.problems[0]
    with app.extensions["gmp_engine"].connect() as connection:
        stored = connection.execute(sa.text(
            "SELECT consignee, contact, phone, out_of_hours_contact, is_export, is_medical_sample FROM distributions "
            "ORDER BY id")).all()
    assert [tuple(r) for r in stored] == [
        ("国药控股上海", "陈经理", "021-5555 0101", "139 0000 0101", False, False),
        ("Apotheke Berlin", None, None, None, True, False), ("某医院", None, None, None, False, True),
        ("仁和大药房", None, None, None, False, False)]


@pytest.mark.req("REC-19")
def test_products_carry_their_markets_and_mah_and_a_bad_market_code_rejects_the_file(app, uow_factory, make_user):
    user_id, _ = make_user("li.na", "qa_officer")
    header = "code,name,strength,dosage_form,has_expiry,markets,marketing_authorisation_holder\n"
    bad = header + "P-001,阿莫西林胶囊,0.25 g,胶囊,yes,CN DE,\nP-002,维生素C片,100 mg,片剂,no,China,\n"
    result = import_csv(uow_factory(), kind="products", filename="bad.csv", data=bad.encode(), actor_id=user_id)
    assert result.rows_imported == 0 and [p.split(":")[0] for p in result.problems] == ["line 3"]
    assert count(app, "products") == 0
    good = header + "P-001,阿莫西林胶囊,0.25 g,胶囊,yes,CN DE;FR,Hanse Pharma GmbH\nP-002,维生素C片,100 mg,片剂,no,,\n"
    assert import_csv(uow_factory(), kind="products", filename="p.csv", data=good.encode(),
                      actor_id=user_id).rows_imported == 2
    with app.extensions["gmp_engine"].connect() as connection:
        stored = connection.execute(sa.text(
            "SELECT code, markets, marketing_authorisation_holder FROM products ORDER BY code")).all()
    assert [tuple(row) for row in stored] == [("P-001", "CN DE FR", "Hanse Pharma GmbH"), ("P-002", "CN", None)]

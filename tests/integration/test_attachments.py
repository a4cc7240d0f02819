"""Complaint attachments (REC-03): type allow-list, SHA-256 kept, content-addressed, never deleted."""
import hashlib
import io

import pytest
import sqlalchemy as sa

from tests.integration.test_complaints_api import api, registration, settings  # noqa: F401 (fixtures)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(api, cid, filename, data, who="intake"):
    return api.client.post(f"/api/v1/complaints/{cid}/attachments", data={"file": (io.BytesIO(data), filename)},
                           content_type="multipart/form-data", headers={"Authorization": f"Bearer {api.tokens[who]}"})


@pytest.mark.req("REC-03")
def test_an_attachment_is_stored_with_its_hash_and_downloads_identically(app, api):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    response = upload(api, cid, "照片.png", PNG)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["sha256"] == hashlib.sha256(PNG).hexdigest() and body["media_type"] == "image/png"
    download = api.get("auditor", f"/complaints/{cid}/attachments/{body['id']}")
    assert download.data == PNG and download.headers["Content-Disposition"].startswith("attachment")
    assert api.get("qa_officer", f"/complaints/{cid}").get_json()["attachments"][0]["sha256"] == body["sha256"]


@pytest.mark.parametrize(("filename", "data"), [
    ("virus.exe", b"MZ" + b"\x00" * 100), ("page.html", b"<html><script>x</script></html>"),
    ("fake.png", b"%PDF-1.7\n" + b"x" * 50), ("empty.pdf", b""),
])
def test_refused_files_answer_400_on_the_file_field_and_store_nothing(app, api, filename, data):
    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    response = upload(api, cid, filename, data)
    assert response.status_code == 400 and "file" in response.get_json()["error"]["fields"]
    with app.extensions["gmp_engine"].connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM attachments")).scalar_one() == 0


@pytest.mark.req("RET-02", "AT-04")
def test_the_database_refuses_to_delete_an_attachment(app, api):
    from tests.conftest import execute_sql

    cid = api.ok("intake", "/complaints", registration(), 201)["id"]
    upload(api, cid, "照片.png", PNG)
    with pytest.raises(sa.exc.DatabaseError):
        execute_sql(app, "DELETE FROM attachments")

"""Signature binding to a record version (21 CFR 11.70): hashing, manifest, system signature."""
import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from signatures import binding
from signatures.binding import (
    SignatureManifest,
    canonical_snapshot_hash,
    sign_manifest,
    signature_status,
    signed_at_text,
    verify_manifest,
)

SNAPSHOT = {"number": "TS-I-26-001", "complaint_class": "I", "rationale": "Foreign particle in vial",
            "batch_nos": ["B2601", "B2602"], "adr_suspected": False, "received_on": "2026-11-30"}
HASH = canonical_snapshot_hash(SNAPSHOT)


class KeySigner:
    """The shape of ``audit.keys.Signer`` that signing needs, without its database imports."""

    def __init__(self):
        self.private_key = Ed25519PrivateKey.generate()
        self.public_key = self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def sign_bytes(self, data: bytes) -> bytes:
        return self.private_key.sign(data)


@pytest.fixture(scope="module")
def signer():
    return KeySigner()


def make_manifest(**changes) -> SignatureManifest:
    fields = {
        "signer_id": 12, "signer_username": "liwei", "printed_name": "李伟 Li Wei", "meaning": "approved",
        "step": "closure", "signed_at": "2026-12-02T06:05:09.123456Z", "record_type": "complaint",
        "record_id": "41", "record_number": "TS-I-26-001", "record_version": 3, "record_hash": HASH, "comment": None,
    }
    fields.update(changes)
    return SignatureManifest(**fields)


@pytest.mark.req("SIG-02")
def test_snapshot_hash_is_the_sha256_of_the_canonical_json():
    canonical = ('{"adr_suspected":false,"batch_nos":["B2601","B2602"],"complaint_class":"I",'
                 '"number":"TS-I-26-001","rationale":"Foreign particle in vial","received_on":"2026-11-30"}')
    assert HASH == hashlib.sha256(canonical.encode()).hexdigest()


@pytest.mark.req("SIG-02")
def test_snapshot_hash_ignores_key_order_but_not_content():
    reordered = dict(reversed(list(SNAPSHOT.items())))
    assert canonical_snapshot_hash(reordered) == HASH
    assert canonical_snapshot_hash({**SNAPSHOT, "rationale": "Foreign particle in vial."}) != HASH
    assert canonical_snapshot_hash({**SNAPSHOT, "batch_nos": ["B2602", "B2601"]}) != HASH


@pytest.mark.req("SIG-02")
def test_snapshot_hash_refuses_values_without_one_stable_text_form():
    with pytest.raises(ValueError):
        canonical_snapshot_hash({"amount": 1.5})
    with pytest.raises(ValueError):
        canonical_snapshot_hash({"at": datetime(2026, 12, 2, 6, 5)})


@pytest.mark.req("SIG-01", "SIG-02")
def test_the_payload_carries_every_field_and_a_format_marker():
    payload = json.loads(make_manifest(comment="OK to close").payload())
    assert payload == {
        "v": 1, "signer_id": 12, "signer_username": "liwei", "printed_name": "李伟 Li Wei",
        "meaning": "approved", "step": "closure", "signed_at": "2026-12-02T06:05:09.123456Z",
        "record_type": "complaint", "record_id": "41", "record_number": "TS-I-26-001",
        "record_version": 3, "record_hash": HASH, "comment": "OK to close",
    }


@pytest.mark.req("SIG-02")
def test_a_signed_manifest_verifies_with_the_system_public_key(signer):
    manifest = make_manifest()
    signature = sign_manifest(manifest, signer)
    assert verify_manifest(manifest, signature, signer.public_key)


@pytest.mark.req("SIG-02")
@pytest.mark.parametrize("field, other_value", [
    ("record_id", "42"),
    ("record_version", 4),
    ("record_hash", canonical_snapshot_hash({**SNAPSHOT, "complaint_class": "II"})),
    ("record_type", "capa"),
    ("record_number", "TS-I-26-002"),
    ("meaning", "reviewed"),
    ("step", "audit_trail_review"),
    ("signer_id", 13),
    ("signer_username", "zhangsan"),
    ("printed_name", "张三 Zhang San"),
    ("signed_at", "2026-12-02T06:05:10.123456Z"),
    ("comment", "added later"),
])
def test_a_signature_fails_verification_on_any_other_record_version_or_statement(signer, field, other_value):
    original = make_manifest()
    signature = sign_manifest(original, signer)
    moved = dataclasses.replace(original, **{field: other_value})
    assert not verify_manifest(moved, signature, signer.public_key)


@pytest.mark.req("SIG-02")
def test_a_signature_fails_with_another_key_or_when_its_bytes_are_altered(signer):
    manifest = make_manifest()
    signature = sign_manifest(manifest, signer)
    assert not verify_manifest(manifest, signature, KeySigner().public_key)
    tampered = bytes([signature[0] ^ 1]) + signature[1:]
    assert not verify_manifest(manifest, tampered, signer.public_key)


def test_no_function_copies_or_moves_a_signature():
    public = [name for name in dir(binding) if not name.startswith("_") and callable(getattr(binding, name))]
    forbidden = ("copy", "rebind", "move", "transfer", "clone", "reassign")
    assert [name for name in public if any(word in name.lower() for word in forbidden)] == []


@pytest.mark.req("SIG-02")
def test_status_is_valid_until_the_covered_content_changes():
    assert signature_status(HASH, canonical_snapshot_hash(dict(SNAPSHOT))) == "valid"
    changed = canonical_snapshot_hash({**SNAPSHOT, "rationale": "Amended rationale"})
    assert signature_status(HASH, changed) == "superseded"
    # The whole hash counts, not the prefix shown on screen.
    last_digit_changed = HASH[:-1] + ("0" if HASH[-1] != "0" else "1")
    assert signature_status(HASH, last_digit_changed) == "superseded"


@pytest.mark.req("SIG-01", "SIG-02")
def test_signed_at_is_written_in_utc_whatever_the_zone_given():
    shanghai = timezone(timedelta(hours=8))
    assert signed_at_text(datetime(2026, 12, 2, 14, 5, 9, tzinfo=shanghai)) == "2026-12-02T06:05:09.000000Z"
    with pytest.raises(ValueError):
        signed_at_text(datetime(2026, 12, 2, 14, 5, 9))


@pytest.mark.req("SIG-01", "SIG-02")
@pytest.mark.parametrize("changes, error", [
    ({"signed_at": "2026-12-02T14:05:09+08:00"}, ValueError),
    ({"signed_at": "2026-12-02T06:05:09"}, ValueError),
    ({"signed_at": datetime(2026, 12, 2, 6, 5, 9, tzinfo=UTC)}, TypeError),
    ({"record_hash": "3F9A" * 16}, ValueError),
    ({"record_hash": "3f9a1c2b"}, ValueError),
    ({"record_version": 0}, ValueError),
    ({"record_version": True}, TypeError),
    ({"record_id": 41}, TypeError),
])
def test_a_manifest_that_could_not_be_verified_the_same_way_later_is_refused(changes, error):
    with pytest.raises(error):
        make_manifest(**changes)

"""Canonical event bytes and C2SP signed checkpoints (no database, no Flask)."""
import base64
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import example, given
from hypothesis import strategies as st

from audit.keys import Signer, _public_bytes
from audit.verify import (
    canonical_bytes,
    checkpoint_signed_by,
    ed25519_key_id,
    load_keys,
    parse_checkpoint,
)

ORIGIN = "site-a/gmp-audit/v1"


@pytest.mark.req("AT-02")
def test_canonical_bytes_sort_keys_keep_chinese_and_fix_instants():
    event = {"b": 1, "a": {"name": "李娜", "at": datetime(2026, 11, 22, 13, 0, tzinfo=timezone(timedelta(hours=8)))},
             "day": date(2026, 10, 1), "amount": Decimal("12.50"), "none": None, "flag": True}
    assert canonical_bytes(event) == (
        '{"a":{"at":"2026-11-22T05:00:00.000000Z","name":"李娜"},"amount":"12.50","b":1,'
        '"day":"2026-10-01","flag":true,"none":null}').encode()


def test_floats_and_naive_times_are_refused():
    with pytest.raises(ValueError):
        canonical_bytes({"x": 1.5})
    with pytest.raises(ValueError):
        canonical_bytes({"x": datetime(2026, 1, 1)})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@pytest.mark.req("AT-03")
@given(json_values)
@example({"\ue000": None, "\U00010000": None})  # UTF-16 order puts the surrogate pair first
def test_canonical_bytes_equal_rfc8785_for_the_event_model(value):
    assert canonical_bytes(value) == rfc8785.dumps(value)


def _signer(name=ORIGIN):
    key = Ed25519PrivateKey.generate()
    return Signer(name, key, _public_bytes(key))


def _keys(*signers, valid_from="2026-01-01T00:00:00.000000Z", valid_until=None):
    return load_keys([{"name": s.name, "public_key": base64.b64encode(s.public_key).decode(),
                       "valid_from": valid_from, "valid_until": valid_until} for s in signers])


@pytest.mark.req("AT-03")
def test_a_signed_checkpoint_parses_and_verifies_with_its_key():
    signer = _signer()
    root = bytes(range(32))
    note = signer.sign_checkpoint(ORIGIN, 42, root, "2026-11-22T05:00:00.000000Z")
    assert note.startswith(f"{ORIGIN}\n42\n{base64.b64encode(root).decode()}\n")
    assert "\n\n\u2014 " in note
    checkpoint = parse_checkpoint(note)
    assert (checkpoint.origin, checkpoint.tree_size, checkpoint.root) == (ORIGIN, 42, root)
    assert checkpoint_signed_by(checkpoint, _keys(signer)) is not None
    assert checkpoint.signatures[0][1] == ed25519_key_id(ORIGIN, signer.public_key)


@pytest.mark.req("AT-03")
def test_a_forged_or_altered_checkpoint_does_not_verify():
    signer = _signer()
    note = signer.sign_checkpoint(ORIGIN, 42, bytes(32), "2026-11-22T05:00:00.000000Z")
    altered = note.replace("\n42\n", "\n43\n")
    assert checkpoint_signed_by(parse_checkpoint(altered), _keys(signer)) is None
    forger = _signer()
    forged = forger.sign_checkpoint(ORIGIN, 42, bytes(32), "2026-11-22T05:00:00.000000Z")
    # Same key name, other key: its key ID differs, so it is an unknown key and ignored.
    assert checkpoint_signed_by(parse_checkpoint(forged), _keys(signer)) is None


@pytest.mark.req("AT-03")
def test_a_key_verifies_only_checkpoints_from_its_validity_window():
    old, new = _signer(), _signer()
    keys = _keys(old, valid_from="2026-01-01T00:00:00.000000Z", valid_until="2026-06-01T00:00:00.000000Z")
    keys.update(_keys(new, valid_from="2026-06-01T00:00:00.000000Z"))
    before = parse_checkpoint(old.sign_checkpoint(ORIGIN, 5, bytes(32), "2026-03-01T00:00:00.000000Z"))
    after_by_old = parse_checkpoint(old.sign_checkpoint(ORIGIN, 9, bytes(32), "2026-07-01T00:00:00.000000Z"))
    after_by_new = parse_checkpoint(new.sign_checkpoint(ORIGIN, 9, bytes(32), "2026-07-01T00:00:00.000000Z"))
    assert checkpoint_signed_by(before, keys).key == old.public_key
    assert checkpoint_signed_by(after_by_old, keys) is None
    assert checkpoint_signed_by(after_by_new, keys).key == new.public_key


@pytest.mark.parametrize("note", [
    "origin\n1\nAAAA\n\n\u2014 origin AAAAAAA=\n",          # root not 32 bytes
    "origin\n01\n" + base64.b64encode(bytes(32)).decode() + "\n\n\u2014 x AAAAAAA=\n",  # leading zero
    "origin\n1\n" + base64.b64encode(bytes(32)).decode() + "\n",  # no signature block
])
def test_malformed_checkpoints_are_refused(note):
    with pytest.raises(ValueError):
        parse_checkpoint(note)


@pytest.mark.req("AT-03")
@pytest.mark.parametrize("parallel_from", [10**9, 10], ids=["one-process", "worker-processes"])
def test_the_verifier_finds_the_same_tampering_in_one_process_and_across_cores(monkeypatch, parallel_from):
    import io
    import zipfile

    from audit import verify
    from tests.benchmarks.bench_audit_verify import build

    monkeypatch.setattr(verify, "PARALLEL_FROM", parallel_from)
    bundle = build(2500, checkpoint_every=500)
    assert verify.verify_bundle(bundle).ok
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    events = files["events.jsonl"].split(b"\n")
    events[1700] = events[1700].replace(b"Moved", b"Mowed")
    events[2200] = events[2200].replace(b'"index":2200', b'"index":2201')
    files["events.jsonl"] = b"\n".join(events)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    report = verify.verify_bundle(buffer.getvalue())
    assert report.first_failing_index == 1700
    assert any(p.startswith("event 2200: missing or out of order") for p in report.problems)


@pytest.mark.req("AT-03")
def test_strict_verification_catches_a_writer_that_sealed_non_canonical_json():
    import json

    from audit import verify
    from tests.benchmarks.bench_audit_verify import build

    def sloppy(event):
        return json.dumps(verify.canonical_value(event), ensure_ascii=False).encode()  # spaces, unsorted keys

    bundle = build(50, checkpoint_every=10, encode=sloppy)
    assert verify.verify_bundle(bundle).ok  # the seal holds: these are the bytes that were signed
    report = verify.verify_bundle(bundle, strict=True)
    assert not report.ok and report.first_failing_index == 0
    assert "not in canonical form" in report.first_failure


@pytest.mark.req("AT-03")
@pytest.mark.parametrize("changes", [
    {"quantity": [None, 100.0]},  # a fraction: the model holds integers (and decimals as strings)
    {"quantity": [None, 1e-07]},  # an exponent
    {"quantity": [None, float("nan")]},  # not JSON at all
    {"\uff21": 1, "\U0001f600": 2},  # names in code-point order, which RFC 8785's UTF-16 order reverses
], ids=["fraction", "exponent", "nan", "code-point-order"])
def test_strict_verification_refuses_numbers_and_name_orders_outside_the_canonical_model(changes):
    """Python's own encoder writes these lines back byte for byte, so a re-encoding check alone passed them."""
    import json

    from audit import verify
    from tests.benchmarks.bench_audit_verify import build

    def writer_slipping_one_event(event):
        if event["index"] != 7:
            return canonical_bytes(event)
        return json.dumps({**verify.canonical_value(event), "changes": changes}, sort_keys=True,
                          separators=(",", ":"), ensure_ascii=False).encode()

    bundle = build(20, checkpoint_every=10, encode=writer_slipping_one_event)
    assert verify.verify_bundle(bundle).ok  # the seal holds: these are the bytes that were signed
    report = verify.verify_bundle(bundle, strict=True)
    assert not report.ok and report.first_failing_index == 7
    assert report.first_failure == "event 7: not in canonical form"


@pytest.mark.req("AT-03")
def test_strict_verification_accepts_names_in_utf16_order_and_characters_from_u_e000():
    from audit import verify
    from tests.benchmarks.bench_audit_verify import build

    def writer(event):
        return canonical_bytes({**event, "changes": {"\uff21": "\ue000 \U0001f600", "\U0001f600": 2}})

    bundle = build(20, checkpoint_every=10, encode=writer)
    assert verify.verify_bundle(bundle, strict=True).ok

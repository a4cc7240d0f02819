"""The verifier reads an authenticated event's index from its bytes (issue 19: 1,000,000 events at >= 150,000 per
second); these prove it reads the event's own index and parses whatever does not have an event's canonical shape
(no database, no Flask)."""
import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.export import deterministic_zip
from audit.keys import Signer, _public_bytes
from audit.verify import BUNDLE_FORMAT, CompactRange, canonical_bytes, leaf_hash, verify_bundle

ORIGIN = "site-a/gmp-audit/v1"


def event(position: int, changes: dict | None = None) -> dict:
    return {"v": 1, "index": position, "occurred_at": "2026-11-22T05:00:00.000000Z", "tx": "t", "source_ip": None,
            "actor": {"id": 7, "name": "李娜"}, "action": "complaint.assigned",
            "entity": {"type": "complaint", "id": "1"}, "changes": changes or {}, "reason": "值班交接"}


def bundle(lines: list[bytes]) -> bytes:
    """A full bundle sealing exactly these lines (a writer that wrote them), signed at the end."""
    key = Ed25519PrivateKey.generate()
    signer = Signer(ORIGIN, key, _public_bytes(key))
    compact = CompactRange()
    for line in lines:
        compact.append(leaf_hash(line))
    files = {
        "events.jsonl": b"".join(line + b"\n" for line in lines),
        "leaves.txt": "".join(leaf_hash(line).hex() + "\n" for line in lines).encode(),
        "checkpoints.json": json.dumps([signer.sign_checkpoint(ORIGIN, len(lines), compact.root(),
                                                               "2026-11-22T06:00:00.000000Z")]).encode(),
        "keys.json": json.dumps([{"name": ORIGIN, "public_key": base64.b64encode(signer.public_key).decode(),
                                  "valid_from": "2026-01-01T00:00:00.000000Z", "valid_until": None}]).encode(),
    }
    files["manifest.json"] = json.dumps({
        "format": BUNDLE_FORMAT, "scope": "full", "event_count": len(lines), "first_index": 0,
        "anchor_tree_size": len(lines),
        "files": {name: hashlib.sha256(content).hexdigest() for name, content in files.items()}}).encode()
    return deterministic_zip(files)


@pytest.mark.req("AT-03")
@pytest.mark.parametrize("strict", [False, True], ids=["integrity", "strict"])
def test_an_index_inside_the_changes_is_not_taken_for_the_events_own(strict):
    lines = [canonical_bytes(event(i, {"a": [0, 1], "index": 3, "v": [1, 2]})) for i in range(4)]
    assert verify_bundle(bundle(lines), strict=strict).ok
    lines[1], lines[2] = lines[2], lines[1]  # sealed in the wrong order by the writer itself
    report = verify_bundle(bundle(lines), strict=strict)
    assert report.first_failing_index == 1
    assert report.first_failure == "event 1: missing or out of order (line 2 holds event 2)"


@pytest.mark.req("AT-03")
@pytest.mark.parametrize("written", [
    b'{"action":"complaint.assigned","index":01,"v":1}',  # a leading zero: not JSON
    b'{"action":"complaint.assigned","index":1,"v":1',  # cut short
    b'{"action":"complaint.assigned","index":"1","v":1}',  # an index that is not a number
])
def test_sealed_bytes_without_an_events_shape_are_parsed_and_refused_without_strict(written):
    lines = [canonical_bytes(event(0)), written, canonical_bytes(event(2))]
    report = verify_bundle(bundle(lines))
    assert not report.ok and report.first_failing_index == 1
    assert report.first_failure in ("event at line 2: not valid JSON", "event at line 2: no index")


@pytest.mark.req("AT-03")
def test_sealed_bytes_of_a_broken_writer_pass_the_seal_and_fail_strict():
    """Without --strict the verifier proves the bytes are the ones sealed and signed; --strict proves the writer
    wrote canonical JSON."""
    lines = [canonical_bytes(event(0)), b'{"action":"complaint.assigned","index":1,"v":1}}', canonical_bytes(event(2))]
    assert verify_bundle(bundle(lines)).ok
    report = verify_bundle(bundle(lines), strict=True)
    assert not report.ok and report.first_failing_index == 1


@pytest.mark.req("AT-03")
def test_a_disposal_event_is_still_read_in_full_and_its_markers_checked():
    disposal = canonical_bytes({**event(1, {"disposed_events": [None, [0]]}), "action": "disposal.recorded",
                                "entity": {"type": "disposal", "id": "5"}})
    marker_of_another = canonical_bytes({"disposal": 6, "index": 0})
    report = verify_bundle(bundle([marker_of_another, disposal]))
    assert report.first_failure == "event 0: marked disposed, but no disposal in the bundle lists it"
    assert verify_bundle(bundle([canonical_bytes({"disposal": 5, "index": 0}), disposal])).ok

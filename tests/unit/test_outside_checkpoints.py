"""Checkpoints kept outside the database (issue 19): the comparison that finds a log which lost its tail or was
rewritten, and the file format a reader must take apart (no database, no Flask)."""
from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.keys import Signer
from audit.outside_checkpoints import LATEST, publish
from audit.verify import (
    compare_with_outside,
    leaf_hash,
    load_keys,
    outside_sizes,
    read_outside_checkpoints,
    roots_at_sizes,
)

ORIGIN = "test-site/gmp-audit/v1"


@pytest.fixture
def signer():
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return Signer(ORIGIN, private, public)


def keys_of(signer):
    return load_keys([{"name": signer.name, "public_key": base64.b64encode(signer.public_key).decode(),
                       "valid_from": "2026-01-01T00:00:00.000000Z", "valid_until": None}])


LEAVES = [leaf_hash(f"event {i}".encode()) for i in range(20)]


def note_at(signer, size, leaves=LEAVES):
    return signer.sign_checkpoint(ORIGIN, size, roots_at_sizes(leaves, [size])[size], "2026-12-04T10:00:00.000000Z")


def compare(folder, signer, leaves):
    outside = read_outside_checkpoints(str(folder))
    roots = roots_at_sizes(leaves, outside_sizes(outside, ORIGIN))
    return compare_with_outside(outside, ORIGIN, len(leaves), roots, keys_of(signer))


@pytest.mark.req("AT-03")
def test_a_log_that_extends_every_outside_checkpoint_agrees_with_the_newest(tmp_path, signer):
    folder = tmp_path / "audit-checkpoints"
    for size in (3, 12, 7):  # processes finish their commits in any order
        publish(folder, note_at(signer, size), fsync=False)
    problems, newest = compare(folder, signer, LEAVES)
    assert problems == [] and newest.checkpoint.tree_size == 12
    assert (folder / LATEST).read_text(encoding="utf-8") == note_at(signer, 12)
    files = [p for p in folder.iterdir() if p.suffix == ".jsonl"]
    assert len(files) == 1 and files[0].stat().st_mode & 0o777 == 0o600 and folder.stat().st_mode & 0o777 == 0o700
    assert [json.loads(line)["tree_size"] for line in files[0].read_text().splitlines()] == [3, 12, 7]


@pytest.mark.req("AT-03")
def test_a_log_that_lost_its_tail_is_named_with_the_missing_events(tmp_path, signer):
    publish(tmp_path, note_at(signer, 15), fsync=False)
    problems, _ = compare(tmp_path, signer, LEAVES[:11])
    assert len(problems) == 1
    assert "the log holds 11 events" in problems[0] and "events 11 to 14 are missing" in problems[0]


@pytest.mark.req("AT-03")
def test_a_rewritten_log_is_named_even_after_it_grew_past_the_outside_checkpoint(tmp_path, signer):
    publish(tmp_path, note_at(signer, 10), fsync=False)
    rewritten = LEAVES[:8] + [leaf_hash(b"forged")] + LEAVES[9:]
    problems, _ = compare(tmp_path, signer, rewritten)
    assert len(problems) == 1 and "root at tree size 10 differs" in problems[0] and "rewritten" in problems[0]


@pytest.mark.req("AT-03")
def test_an_unsigned_or_damaged_line_is_named_and_a_cut_off_last_line_is_left_out(tmp_path, signer):
    private = Ed25519PrivateKey.generate()
    other = Signer(ORIGIN, private, private.public_key().public_bytes(serialization.Encoding.Raw,
                                                                       serialization.PublicFormat.Raw))
    publish(tmp_path, note_at(signer, 5), fsync=False)
    # a size the log never reached, signed by a key it does not know
    publish(tmp_path, other.sign_checkpoint(ORIGIN, 30, b"\1" * 32, "2026-12-04T10:00:00.000000Z"), fsync=False)
    [path] = [p for p in tmp_path.iterdir() if p.suffix == ".jsonl"]
    with path.open("a", encoding="utf-8") as handle:
        handle.write("not json\n")
        handle.write('{"tree_size": 40, "note": "cut')  # a write cut short by a crash
    problems, newest = compare(tmp_path, signer, LEAVES)
    assert newest.checkpoint.tree_size == 5
    assert any("no known key signed" in p and ":2:" in p for p in problems), problems
    assert any(":3: not a signed checkpoint" in p for p in problems), problems
    assert not any(":4" in p for p in problems), problems


@pytest.mark.req("AT-03")
def test_checkpoints_of_another_log_are_left_aside(tmp_path, signer):
    other_origin = Signer("elsewhere/gmp-audit/v1", signer.private_key, signer.public_key)
    publish(tmp_path, other_origin.sign_checkpoint("elsewhere/gmp-audit/v1", 99, b"\0" * 32, "t"), fsync=False)
    publish(tmp_path, note_at(signer, 4), fsync=False)
    problems, newest = compare(tmp_path, signer, LEAVES)
    assert problems == [] and newest.checkpoint.tree_size == 4

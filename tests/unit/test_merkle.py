"""RFC 6962 hashing and proofs against the transparency-dev/merkle vectors (no database, no Flask)."""
import base64
import json
import random
from pathlib import Path

import pytest

from audit.export import LeafTree
from audit.verify import (
    EMPTY_ROOT,
    CompactRange,
    largest_power_of_two_below,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "merkle"


def _json(name):
    return json.loads((FIXTURES / name).read_text())


def _b64(value):
    return base64.b64decode(value) if value else b""


def _vector_files(kind):
    return sorted((FIXTURES / "testdata" / kind).rglob("*.json"))


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH of RFC 6962 §2.1, written as the recursion the RFC gives."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = largest_power_of_two_below(len(leaves))
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


LEAVES = _json("leaves_and_roots.json")
TEST_LEAVES = [leaf_hash(bytes.fromhex(h)) for h in LEAVES["leaves_hex"]]


@pytest.mark.req("AT-03")
def test_roots_of_the_reference_tree_match_the_published_values():
    assert EMPTY_ROOT.hex() == LEAVES["empty_root_hex"]
    for size, expected in enumerate(LEAVES["roots_hex"], start=1):
        assert root_of(TEST_LEAVES[:size]).hex() == expected


@pytest.mark.req("AT-03")
def test_the_compact_range_gives_the_rfc_root_for_every_size():
    leaves = [leaf_hash(str(i).encode()) for i in range(130)]
    compact = CompactRange()
    for size in range(1, len(leaves) + 1):
        compact.append(leaves[size - 1])
        assert compact.root() == reference_root(leaves[:size]), size
    # The state survives a round trip through its stored form.
    assert CompactRange(compact.size, list(compact.hashes)).root() == compact.root()


@pytest.mark.req("AT-03")
@pytest.mark.parametrize("case", _json("inclusion_proofs.json")["proofs"], ids=lambda c: f"{c['leaf_index']}-{c['tree_size']}")
def test_published_inclusion_proofs_verify_and_are_what_we_generate(case):
    index, size = case["leaf_index"], case["tree_size"]
    proof = [bytes.fromhex(h) for h in case["proof_hex"]]
    root = bytes.fromhex(LEAVES["roots_hex"][size - 1])
    assert verify_inclusion(index, size, TEST_LEAVES[index], proof, root)
    assert LeafTree(TEST_LEAVES[:size]).inclusion_proof(index, size) == proof


@pytest.mark.req("AT-03")
@pytest.mark.parametrize("case", _json("consistency_proofs.json")["proofs"], ids=lambda c: f"{c['size1']}-{c['size2']}")
def test_published_consistency_proofs_verify_and_are_what_we_generate(case):
    size1, size2 = case["size1"], case["size2"]
    proof = [bytes.fromhex(h) for h in case["proof_hex"]]
    root1, root2 = (bytes.fromhex(LEAVES["roots_hex"][s - 1]) for s in (size1, size2))
    assert verify_consistency(size1, size2, proof, root1, root2)
    assert LeafTree(TEST_LEAVES[:size2]).consistency_proof(size1, size2) == proof


@pytest.mark.req("AT-03")
@pytest.mark.parametrize("path", _vector_files("inclusion"), ids=lambda p: str(p.relative_to(FIXTURES / "testdata")))
def test_inclusion_vectors(path):
    case = json.loads(path.read_text())
    proof = [_b64(h) for h in case["proof"] or []]
    ok = verify_inclusion(case["leafIdx"], case["treeSize"], _b64(case["leafHash"]), proof, _b64(case["root"]))
    assert ok is not case["wantErr"], case["desc"]


@pytest.mark.req("AT-03")
@pytest.mark.parametrize("path", _vector_files("consistency"), ids=lambda p: str(p.relative_to(FIXTURES / "testdata")))
def test_consistency_vectors(path):
    case = json.loads(path.read_text())
    proof = [_b64(h) for h in case["proof"] or []]
    ok = verify_consistency(case["size1"], case["size2"], proof, _b64(case["root1"]), _b64(case["root2"]))
    assert ok is not case["wantErr"], case["desc"]


@pytest.mark.req("AT-03")
def test_generated_proofs_verify_for_every_leaf_and_size_and_fail_when_tampered():
    leaves = [leaf_hash(f"event {i}".encode()) for i in range(40)]
    tree = LeafTree(leaves)
    rng = random.Random(6962)
    for size in range(1, 41):
        root = reference_root(leaves[:size])
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            assert verify_inclusion(index, size, leaves[index], proof, root)
            assert not verify_inclusion(index, size, leaf_hash(b"forged"), proof, root)
            if proof:
                bad = list(proof)
                bad[rng.randrange(len(bad))] = leaf_hash(b"x")
                assert not verify_inclusion(index, size, leaves[index], bad, root)
        for size1 in range(1, size + 1):
            proof = tree.consistency_proof(size1, size)
            root1 = reference_root(leaves[:size1])
            assert verify_consistency(size1, size, proof, root1, root)
            if size1 < size:
                assert not verify_consistency(size1, size, proof, leaf_hash(b"rewritten"), root)


@pytest.mark.req("AT-03")
def test_extending_by_aligned_subtrees_gives_the_same_range_as_leaf_by_leaf():
    leaves = [leaf_hash(f"leaf {i}".encode()) for i in range(1500)]
    rng = random.Random(9162)
    for _ in range(30):
        cuts = sorted(rng.sample(range(1, len(leaves)), 6))
        one, many = CompactRange(), CompactRange()
        for leaf in leaves:
            one.append(leaf)
        start = 0
        for cut in cuts + [len(leaves)]:
            many.extend(leaves[start:cut])
            if cut < 200:  # the recursive reference is slow; the final comparison covers the rest
                assert many.root() == reference_root(leaves[:cut])
            start = cut
        assert (many.size, many.hashes) == (one.size, one.hashes)

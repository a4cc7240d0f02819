"""Benchmark: offline verification of a 1,000,000-event export (issue 3).

Builds a full bundle without a database (events as the recorder writes them, checkpoints every
1,000 events signed with a throwaway key), then reports, from one run:
- verification speed in events per second;
- the ratio to a bare SHA-256 pass over the same event bytes (one hash per event line, the floor
  any verifier must pay).

Run: .venv/bin/python -m tests.benchmarks.bench_audit_verify [--events 1000000]
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import time
import zipfile

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.keys import Signer, _public_bytes
from audit.verify import BUNDLE_FORMAT, CompactRange, canonical_bytes, leaf_hash, verify_bundle

ORIGIN = "bench/gmp-audit/v1"


def build(events: int, checkpoint_every: int = 1000, encode=canonical_bytes) -> bytes:
    key = Ed25519PrivateKey.generate()
    signer = Signer(ORIGIN, key, _public_bytes(key))
    compact = CompactRange()
    lines, leaves, notes = [], [], []
    for index in range(events):
        data = encode({
            "v": 1, "index": index, "occurred_at": f"2026-11-22T05:{index // 60 % 60:02d}:{index % 60:02d}.000000Z",
            "tx": "0d5c3f4e-7b8a-4c2e-9f10-3a2b1c0d9e8f", "actor": {"id": 7, "name": "李娜 Li Na"},
            "action": "user.roles_changed", "entity": {"type": "user", "id": str(index % 500)},
            "changes": {"roles": [["investigator"], ["investigator", "qa_officer"]]},
            "reason": "Moved to QA, CC-2026-017", "source_ip": "10.1.2.3",
        })
        leaf = leaf_hash(data)
        lines.append(data)
        leaves.append(leaf.hex())
        compact.append(leaf)
        if compact.size % checkpoint_every == 0 or compact.size == events:
            notes.append(signer.sign_checkpoint(ORIGIN, compact.size, compact.root(), "2026-11-22T06:00:00.000000Z"))
    files = {
        "events.jsonl": b"\n".join(lines) + b"\n",
        "leaves.txt": ("\n".join(leaves) + "\n").encode(),
        "checkpoints.json": json.dumps(notes).encode(),
        "keys.json": json.dumps([{"name": ORIGIN, "public_key": __import__("base64").b64encode(signer.public_key).decode(),
                                  "valid_from": "2026-01-01T00:00:00.000000Z", "valid_until": None}]).encode(),
    }
    manifest = {"format": BUNDLE_FORMAT, "scope": "full", "event_count": events, "first_index": 0,
                "anchor_tree_size": events,
                "files": {name: hashlib.sha256(content).hexdigest() for name, content in files.items()}}
    files["manifest.json"] = json.dumps(manifest).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    started = time.perf_counter()
    bundle = build(args.events)
    print(f"built bundle: {args.events:,} events, {len(bundle) / 1e6:.0f} MB zipped, {time.perf_counter() - started:.1f} s")

    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        lines = archive.read("events.jsonl").split(b"\n")[:-1]
    started = time.perf_counter()
    for line in lines:
        hashlib.sha256(line).digest()
    bare = time.perf_counter() - started

    print(f"bare SHA-256 per event line: {bare:.2f} s ({args.events / bare:,.0f} events/s)")
    for strict in (False, True):
        started = time.perf_counter()
        report = verify_bundle(bundle, strict=strict)
        verify = time.perf_counter() - started
        assert report.ok, report.problems[:3]
        label = "verification, --strict (canonical form)" if strict else "verification (integrity)"
        print(f"{label:<41} {verify:.2f} s ({args.events / verify:,.0f} events/s), "
              f"{verify / bare:.1f}x the bare SHA-256 pass   (goal: >= 150,000 events/s)")


if __name__ == "__main__":
    main()

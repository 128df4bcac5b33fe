"""`spare ledger verify` and `spare ledger head` on ledgers written here by a
second implementation of the format (Python's hashlib and the cryptography
package's Ed25519): canonical entries, RFC 6962's tree, signed heads. It
verifies what another writer made, and finds a tampered entry, a history
rewritten and signed again, and another key."""

import hashlib
import json
import os
import random
import struct
import subprocess
import tempfile
import unittest
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SPARE = os.environ.get("SPARE_BIN", "spare")
SEED = int(os.environ.get("SPARE_TEST_SEED", "16"))


def mth(leaves):
    """RFC 6962 §2.1's Merkle tree hash of the leaf hashes."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def entry_text(account, first, last, micros, kind="credit"):
    entry = {"kind": kind, "time_ms": 1764770000000 + last, "account": account, "job": 3,
             "first_step": first, "last_step": last, "digest": "sha256:" + "b" * 64,
             "amount_micros": micros, "currency": "EUR", "note": ""}
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class PythonLedger:
    """Writes a ledger directory as the pool does: entries, then a signed head."""

    def __init__(self, directory, key):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.key = key
        self.lines = []
        (self.dir / "entries.jsonl").write_text("")
        (self.dir / "heads.jsonl").write_text("")
        self.sign(1)

    def public_hex(self):
        return self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    def head(self, size, timestamp_ms):
        root = mth([hashlib.sha256(b"\x00" + line.encode()).digest()
                    for line in self.lines[:size]])
        signed = b"spare-tree-head-v1\x00" + struct.pack(">QQ", size, timestamp_ms) + root
        return {"tree_size": size, "timestamp_ms": timestamp_ms, "root": root.hex(),
                "signature": self.key.sign(signed).hex()}

    def sign(self, timestamp_ms):
        with open(self.dir / "heads.jsonl", "a") as f:
            f.write(json.dumps(self.head(len(self.lines), timestamp_ms)) + "\n")

    def append(self, texts, timestamp_ms):
        self.lines += texts
        with open(self.dir / "entries.jsonl", "a") as f:
            f.write("".join(text + "\n" for text in texts))
        self.sign(timestamp_ms)


class LedgerVerify(unittest.TestCase):
    def setUp(self):
        print(f"seed {SEED} (SPARE_TEST_SEED)")
        self.rng = random.Random(SEED)
        self.tmp = Path(tempfile.mkdtemp(prefix="spare-ledger-test-"))
        self.addCleanup(subprocess.run, ["rm", "-rf", str(self.tmp)])
        self.ledger = PythonLedger(self.tmp / "state" / "ledger", Ed25519PrivateKey.generate())
        # Batches of random sizes: heads at sizes that are and are not powers of two.
        step = 0
        for batch in range(6):
            texts = []
            for _ in range(self.rng.randint(1, 5)):
                texts.append(entry_text(self.rng.choice(["ann", "bo", "cy"]), step, step + 300,
                                        self.rng.randint(0, 10**6)))
                step += 300
            self.ledger.append(texts, 1000 + batch)

    def spare(self, *args, expect=0):
        done = subprocess.run([SPARE, "ledger", *map(str, args)], capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(done.returncode, expect, done.stdout + done.stderr)
        return done

    def verify(self, *extra, expect=0):
        return self.spare("verify", "--state", self.tmp / "state", "--key",
                          self.ledger.public_hex(), *extra, expect=expect).stdout

    def test_a_ledger_another_writer_made_verifies_and_its_head_is_printed(self):
        out = self.verify()
        size = len(self.ledger.lines)
        self.assertIn(f"OK: {size} entries, 7 heads, each signed by {self.ledger.public_hex()}",
                      out)
        self.assertIn(f"newest: size {size}, root {self.ledger.head(size, 0)['root']}", out)
        head = json.loads(self.spare("head", "--state", self.tmp / "state").stdout)
        self.assertEqual(head["tree_size"], size)
        # Without --key it says that the ledger's own key is weaker; this one has none.
        missing = self.spare("verify", "--state", self.tmp / "state", expect=2)
        self.assertIn("has no ledger.pub: pass the pool's public key with --key", missing.stderr)
        (self.ledger.dir / "ledger.pub").write_text(self.ledger.public_hex() + "\n")
        own = self.spare("verify", "--state", self.tmp / "state").stdout
        self.assertIn("OK:", own)
        self.assertIn("pass the pool's key as you know it with --key", own)

    def test_a_tampered_entry_is_found_with_its_line(self):
        lines = self.ledger.lines
        victim = self.rng.randrange(len(lines))
        changed = json.loads(lines[victim])
        changed["amount_micros"] += 1
        lines[victim] = json.dumps(changed, sort_keys=True, separators=(",", ":"))
        (self.ledger.dir / "entries.jsonl").write_text("".join(t + "\n" for t in lines))
        out = self.verify(expect=6)
        self.assertIn("an entry among them was changed after it was signed", out)
        self.assertIn("does NOT verify", out)

    def test_a_rewritten_history_fails_the_head_kept_before_it(self):
        kept = self.tmp / "kept-head.json"
        kept.write_text(self.spare("head", "--state", self.tmp / "state").stdout)
        self.verify("--head", kept)
        # The pool rewrites an old entry and signs every head again with its key.
        rewritten = PythonLedger(self.tmp / "rewritten" / "ledger", self.ledger.key)
        texts = list(self.ledger.lines)
        texts[0] = entry_text("ann", 0, 300, 1)
        rewritten.append(texts + [entry_text("bo", 9000, 9300, 5)], 2000)
        args = ("verify", "--ledger", rewritten.dir, "--key", self.ledger.public_hex())
        self.assertIn("OK:", self.spare(*args).stdout)  # consistent with itself
        out = self.spare(*args, "--head", kept, expect=6).stdout
        self.assertIn(f"the head you kept ({kept}: size {len(self.ledger.lines)}", out)
        self.assertIn("history was rewritten", out)
        # The honest ledger, appended to, still extends it.
        self.ledger.append([entry_text("cy", 9000, 9300, 5)], 3000)
        self.assertIn("it extends the 1 head you kept", self.verify("--head", kept))

    def test_another_key_is_refused(self):
        other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw,
                                                                       PublicFormat.Raw).hex()
        out = self.spare("verify", "--state", self.tmp / "state", "--key", other, expect=6).stdout
        self.assertIn(f"not signed by the key {other}", out)
        bad = self.spare("verify", "--state", self.tmp / "state", "--key", "abc", expect=2)
        self.assertIn("--key abc: neither a file nor an Ed25519 public key", bad.stderr)
        nothing = self.spare("verify", "--ledger", self.tmp, "--key", other, expect=2)
        self.assertIn("holds no ledger", nothing.stderr)


if __name__ == "__main__":
    unittest.main()

// The ledger's entries and its files: canonical entries, appends read back
// after a restart, inclusion proofs, and what `spare ledger verify` finds in a
// tampered entry, a rewritten history, a wrong key, lost entries and an
// append cut short.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "ed25519_key.hpp"
#include "ledger_entry.hpp"
#include "ledger_log.hpp"
#include "ledger_verify.hpp"
#include "merkle_tree.hpp"
#include "spare/atomic_file.hpp"
#include "spare/error.hpp"
#include "support/checkpoint_error_of.hpp"
#include "support/temp_dir.hpp"

namespace spare::ledger {
namespace {

namespace fs = std::filesystem;
using spare::testing::error_of;
using spare::testing::TempDir;

LedgerEntry credit(const std::string& account, std::int64_t first, std::int64_t last,
                   std::int64_t micros) {
  LedgerEntry entry;
  entry.kind = EntryKind::credit;
  entry.time_ms = 1764770000000 + static_cast<std::uint64_t>(last);
  entry.account = account;
  entry.job = 7;
  entry.first_step = first;
  entry.last_step = last;
  entry.digest = "sha256:" + std::string(64, 'a');
  entry.amount_micros = micros;
  entry.currency = "EUR";
  return entry;
}

bool mentions(const LedgerVerdict& verdict, const std::string& words) {
  for (const std::string& problem : verdict.problems) {
    if (problem.find(words) != std::string::npos) return true;
  }
  return false;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines)
    text += line + "\n";
  return text;
}

// Replaces line `index` (from 0) of a file.
void rewrite_line(const fs::path& path, std::size_t index, const std::string& line) {
  LineFile file = read_lines(path);
  file.lines.at(index) = line;
  write_file_atomically(path, joined(file.lines), 0600);
}

TEST(LedgerEntry, TheCanonicalTextReadsBackAsTheSameEntry) {
  LedgerEntry entry = credit("laptop-1", 300, 600, 35000);
  entry.note = "segment of job 7";
  const std::string text = entry_bytes(entry);
  EXPECT_EQ(text.find(' '), text.find("segment") + 7);  // the only spaces are the note's
  EXPECT_EQ(text.rfind("{\"account\":\"laptop-1\",\"amount_micros\":35000,", 0), 0u) << text;
  EXPECT_EQ(parse_entry(text, "here"), entry);
  for (EntryKind kind : {EntryKind::debit, EntryKind::invalidation}) {
    entry.kind = kind;
    EXPECT_EQ(parse_entry(entry_bytes(entry), "here").kind, kind);
  }
}

TEST(LedgerEntry, AnythingButTheCanonicalTextOfAValidEntryIsRefused) {
  const std::string text = entry_bytes(credit("laptop-1", 300, 600, 35000));
  const auto with = [&](const std::string& from, const std::string& to) {
    std::string changed = text;
    changed.replace(changed.find(from), from.size(), to);
    return error_of([&] { parse_entry(changed, "entries.jsonl:3"); });
  };
  EXPECT_NE(with("{\"account\"", "{ \"account\"").find("not in canonical form"), std::string::npos);
  EXPECT_NE(with("\"note\":\"\"", "\"note\":\"\",\"bonus\":1").find("unexpected member \"bonus\""),
            std::string::npos);
  EXPECT_NE(with(":35000", ":-35000").find("\"amount_micros\" is negative"), std::string::npos);
  EXPECT_NE(with("\"EUR\"", "\"eur\"").find("three capital letters"), std::string::npos);
  EXPECT_NE(with("\"first_step\":300", "\"first_step\":600").find("not a range of steps"),
            std::string::npos);
  EXPECT_NE(with("\"credit\"", "\"gift\"").find("must be credit, debit or invalidation"),
            std::string::npos);
  EXPECT_NE(with(":35000", ":35000.5").find("\"amount_micros\" must be a 64-bit integer"),
            std::string::npos);
  const std::string missing = with(",\"job\":7", "");
  EXPECT_NE(missing.find("ledger entry entries.jsonl:3: \"job\" is missing"), std::string::npos)
      << missing;
  EXPECT_NE(error_of([] { parse_entry("{\"kind\":", "x"); }).find("not JSON"), std::string::npos);
  // A number beyond a double is nlohmann's out_of_range, not a parse error: refused the same.
  EXPECT_NE(with(":35000", ":1e400").find("entries.jsonl:3"), std::string::npos);
}

TEST(LedgerLog, AppendsAreReadBackAfterARestartWithTheirHeads) {
  TempDir dir;
  const fs::path ledger = dir.path() / "ledger";
  Hash root_of_three{};
  {
    LedgerLog log = LedgerLog::open(ledger, 1000);
    EXPECT_EQ(log.size(), 0u);
    EXPECT_EQ(log.head().head.root, empty_tree_hash());
    const std::vector<LedgerEntry> first = {credit("a", 0, 300, 10), credit("b", 0, 300, 20),
                                            credit("a", 300, 600, 10)};
    const SignedTreeHead& head = log.append(first, 2000);
    EXPECT_EQ(head.head.tree_size, 3u);
    EXPECT_EQ(head.head.timestamp_ms, 2000u);
    root_of_three = head.head.root;
    // A clock that went back does not take the heads back with it.
    EXPECT_EQ(log.append(std::vector{credit("b", 300, 600, 20)}, 1500).head.timestamp_ms, 2000u);
  }
  EXPECT_EQ(fs::status(ledger / "ledger.key").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  const LedgerLog log = LedgerLog::open(ledger, 3000);
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log.heads().size(), 3u);  // the empty tree's, then one per append
  EXPECT_EQ(log.entry(3), credit("b", 300, 600, 20));
  EXPECT_EQ(log.tree().root(3), root_of_three);
  EXPECT_EQ(read_public_key(ledger / "ledger.pub"), log.public_key());

  const LedgerVerdict verdict = verify_ledger(ledger, log.public_key(), {});
  EXPECT_TRUE(verdict.ok()) << joined(verdict.problems);
  EXPECT_EQ(verdict.entries, 4u);
  EXPECT_EQ(verdict.heads, 3u);
  ASSERT_TRUE(verdict.newest.has_value());
  EXPECT_EQ(*verdict.newest, log.head());
}

TEST(LedgerLog, EachEntryIsProvenInTheSignedTreeAndATamperedOneIsNot) {
  TempDir dir;
  LedgerLog log = LedgerLog::open(dir.path(), 0);
  std::vector<LedgerEntry> entries;
  for (int i = 0; i < 7; ++i)
    entries.push_back(credit(i % 2 ? "a" : "b", 100 * i, 100 * i + 100, i));
  const SignedTreeHead head = log.append(entries, 10);
  ASSERT_TRUE(verify_tree_head(log.public_key(), head));
  for (std::uint64_t i = 0; i < entries.size(); ++i) {
    const std::vector<Hash> proof = log.tree().inclusion_proof(i, head.head.tree_size);
    const Hash leaf = leaf_hash(bytes_of(entry_bytes(entries[i])));
    EXPECT_TRUE(verify_inclusion(leaf, i, head.head.tree_size, proof, head.head.root)) << i;
    LedgerEntry tampered = entries[i];
    tampered.amount_micros += 1;
    EXPECT_FALSE(verify_inclusion(leaf_hash(bytes_of(entry_bytes(tampered))), i,
                                  head.head.tree_size, proof, head.head.root))
        << i;
  }
}

TEST(LedgerVerify, AnEntryChangedAfterItsHeadIsFoundAndTheLogWillNotOpen) {
  TempDir dir;
  Ed25519PublicKey key{};
  {
    LedgerLog log = LedgerLog::open(dir.path(), 0);
    log.append(std::vector{credit("a", 0, 300, 10), credit("b", 0, 300, 20)}, 1);
    log.append(std::vector{credit("a", 300, 600, 10)}, 2);
    key = log.public_key();
  }
  // Well formed and canonical: only the hashes tell.
  rewrite_line(dir.path() / "entries.jsonl", 1, entry_bytes(credit("b", 0, 300, 2000000)));
  const LedgerVerdict verdict = verify_ledger(dir.path(), key, {});
  EXPECT_FALSE(verdict.ok());
  EXPECT_TRUE(mentions(verdict, "heads.jsonl:2: its root is not the tree of the first 2 entries"))
      << joined(verdict.problems);
  EXPECT_TRUE(mentions(verdict, "an entry among them was changed after it was signed"));
  const std::string refused = error_of([&] { LedgerLog::open(dir.path(), 3); });
  EXPECT_NE(refused.find("does not match the 3 entries"), std::string::npos) << refused;
}

TEST(LedgerVerify, AHistoryRewrittenAndSignedAgainFailsTheHeadAReaderKept) {
  TempDir dir;
  const fs::path ledger = dir.path() / "ledger";
  KeptHead kept;
  Ed25519PublicKey key{};
  {
    LedgerLog log = LedgerLog::open(ledger, 0);
    log.append(std::vector{credit("a", 0, 300, 10), credit("b", 0, 300, 20)}, 1);
    kept = {"statement of b", log.head()};
    log.append(std::vector{credit("a", 300, 600, 10)}, 2);
    key = log.public_key();
    EXPECT_TRUE(verify_ledger(ledger, key, std::vector{kept}).ok());
  }
  // The pool, which has its key, writes another history and signs it.
  fs::remove(ledger / "entries.jsonl");
  fs::remove(ledger / "heads.jsonl");
  {
    LedgerLog rewritten = LedgerLog::open(ledger, 5);
    rewritten.append(
        std::vector{credit("a", 0, 300, 10), credit("b", 0, 300, 2), credit("a", 300, 600, 10)}, 6);
  }
  EXPECT_TRUE(verify_ledger(ledger, key, {}).ok());  // consistent with itself
  const LedgerVerdict verdict = verify_ledger(ledger, key, std::vector{kept});
  ASSERT_EQ(verdict.problems.size(), 1u) << joined(verdict.problems);
  EXPECT_NE(verdict.problems[0].find("the head you kept (statement of b: size 2"),
            std::string::npos);
  EXPECT_NE(verdict.problems[0].find("history was rewritten"), std::string::npos);

  // And a ledger cut back below what a reader saw.
  fs::remove(ledger / "entries.jsonl");
  fs::remove(ledger / "heads.jsonl");
  { LedgerLog::open(ledger, 7).append(std::vector{credit("a", 0, 300, 10)}, 8); }
  EXPECT_TRUE(mentions(verify_ledger(ledger, key, std::vector{kept}), "history was cut"));
}

TEST(LedgerVerify, HeadsOfAnotherKeyAreRefusedAndSoIsAKeptHeadSignedByIt) {
  TempDir dir;
  LedgerLog log = LedgerLog::open(dir.path(), 0);
  log.append(std::vector{credit("a", 0, 300, 10)}, 1);
  const Ed25519Key other = Ed25519Key::generate();
  const LedgerVerdict verdict = verify_ledger(dir.path(), other.public_key(), {});
  EXPECT_TRUE(
      mentions(verdict, "heads.jsonl:2: not signed by the key " + to_hex(other.public_key())))
      << joined(verdict.problems);
  EXPECT_TRUE(mentions(verdict, "no head signed by the key"));
  EXPECT_FALSE(verdict.newest.has_value());

  const KeptHead forged{"forged.json", sign_tree_head(other, log.head().head)};
  EXPECT_TRUE(mentions(verify_ledger(dir.path(), log.public_key(), std::vector{forged}),
                       "the head you kept (forged.json): not signed by the key"));
  // A head file signed by another key will not open as this ledger either.
  write_file_atomically(dir.path() / "heads.jsonl",
                        to_json(sign_tree_head(other, log.head().head)).dump() + "\n", 0600);
  EXPECT_NE(
      error_of([&] { LedgerLog::open(dir.path(), 2); }).find("not signed by the ledger's key"),
      std::string::npos);
}

TEST(LedgerVerify, LostEntriesAndEntriesUnderNoHeadAreSaid) {
  TempDir dir;
  Ed25519PublicKey key{};
  {
    LedgerLog log = LedgerLog::open(dir.path(), 0);
    log.append(std::vector{credit("a", 0, 300, 10), credit("b", 0, 300, 20)}, 1);
    key = log.public_key();
  }
  const fs::path entries = dir.path() / "entries.jsonl";
  const LineFile before = read_lines(entries);
  write_file_atomically(entries, before.lines[0] + "\n", 0600);
  EXPECT_TRUE(mentions(verify_ledger(dir.path(), key, {}),
                       "signed for 2 entries, but " + entries.string() + " holds 1"));

  // An entry appended by a pool stopped before it signed its head.
  write_file_atomically(entries,
                        joined(before.lines) + entry_bytes(credit("a", 300, 600, 10)) + "\n", 0600);
  EXPECT_TRUE(
      mentions(verify_ledger(dir.path(), key, {}), "entries 3 to 3 are under no signed head"));
  const LedgerLog reopened = LedgerLog::open(dir.path(), 2);  // signs it
  EXPECT_EQ(reopened.head().head.tree_size, 3u);
  EXPECT_TRUE(verify_ledger(dir.path(), key, {}).ok());
}

TEST(LedgerVerify, AnAppendCutShortIsNotCountedAndIsCutOffAtOpen) {
  TempDir dir;
  Ed25519PublicKey key{};
  {
    LedgerLog log = LedgerLog::open(dir.path(), 0);
    log.append(std::vector{credit("a", 0, 300, 10)}, 1);
    key = log.public_key();
  }
  const fs::path entries = dir.path() / "entries.jsonl";
  {
    std::ofstream out(entries, std::ios::app);
    out << entry_bytes(credit("b", 0, 300, 20)).substr(0, 30);
  }
  const LedgerVerdict verdict = verify_ledger(dir.path(), key, {});
  EXPECT_TRUE(verdict.ok()) << joined(verdict.problems);
  EXPECT_EQ(verdict.entries, 1u);
  ASSERT_EQ(verdict.notes.size(), 1u);
  EXPECT_NE(verdict.notes[0].find("an append the pool did not finish"), std::string::npos);
  LedgerLog log = LedgerLog::open(dir.path(), 2);
  EXPECT_EQ(log.size(), 1u);
  EXPECT_FALSE(read_lines(entries).torn_tail);
  log.append(std::vector{credit("b", 0, 300, 20)}, 3);
  EXPECT_TRUE(verify_ledger(dir.path(), key, {}).ok());
  EXPECT_EQ(read_lines(entries).lines.size(), 2u);
}

TEST(LedgerVerify, ADirectoryWithoutALedgerIsAnError) {
  TempDir dir;
  EXPECT_NE(
      error_of([&] { verify_ledger(dir.path(), Ed25519PublicKey{}, {}); }).find("holds no ledger"),
      std::string::npos);
}

}  // namespace
}  // namespace spare::ledger

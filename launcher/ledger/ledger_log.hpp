// The pool's ledger on disk: an append-only log of entries, the RFC 6962 tree
// over them, and a signed tree head after every append, in one directory:
//
//   entries.jsonl  one canonical entry a line (ledger_entry.hpp), never rewritten
//   heads.jsonl    one signed tree head a line, in the order they were signed
//   ledger.key     the pool's Ed25519 signing key (0600)
//   ledger.pub     its public key, hex: what readers check the heads against
//
// A reader keeps a head and later asks for an inclusion proof of its entries
// and a consistency proof from that head to a newer one: both are checked
// with merkle_tree.hpp alone, offline.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "ed25519_key.hpp"
#include "ledger_entry.hpp"
#include "merkle_tree.hpp"
#include "signed_tree_head.hpp"

namespace spare::ledger {

/// The names of a ledger directory's files.
struct LedgerFiles {
  std::filesystem::path dir;
  std::filesystem::path entries() const { return dir / "entries.jsonl"; }
  std::filesystem::path heads() const { return dir / "heads.jsonl"; }
  std::filesystem::path key() const { return dir / "ledger.key"; }
  std::filesystem::path public_key() const { return dir / "ledger.pub"; }
};

/// A file of one record a line, as read: the complete lines, and whether a
/// last line was left without its newline (an append cut short).
struct LineFile {
  std::vector<std::string> lines;
  std::uint64_t complete_bytes = 0;  // the length up to the last newline
  bool torn_tail = false;
};
/// An absent file is empty. Throws SystemError if it cannot be read.
LineFile read_lines(const std::filesystem::path& path);

/// The public key a ledger.pub holds (64 hex digits and a newline); spare::Error otherwise.
Ed25519PublicKey read_public_key(const std::filesystem::path& path);

class LedgerLog {
 public:
  /// Opens the ledger in `dir`, creating it (and its key) if it is absent.
  /// Every entry is read back and the tree rebuilt; an append cut short
  /// (a last line without its newline, never acknowledged) is cut off, and
  /// entries a crash left without a head get one now. Entries that do not
  /// match the newest head, or a head not signed by the ledger's key, throw
  /// spare::Error: the ledger is not opened over a history it cannot vouch for.
  static LedgerLog open(const std::filesystem::path& dir, std::uint64_t now_ms);

  /// Appends the entries (fsynced), then signs and appends the head of the
  /// new tree (fsynced) and returns it. Its timestamp is `now_ms`, or the
  /// previous head's if that is later: heads never go back in time.
  const SignedTreeHead& append(std::span<const LedgerEntry> entries, std::uint64_t now_ms);

  std::uint64_t size() const { return tree_.size(); }
  const LedgerEntry& entry(std::uint64_t index) const;
  /// The newest signed head; a head of the empty tree for a new ledger.
  const SignedTreeHead& head() const { return heads_.back(); }
  const std::vector<SignedTreeHead>& heads() const { return heads_; }
  Ed25519PublicKey public_key() const { return key_.public_key(); }
  const MerkleTree& tree() const { return tree_; }

 private:
  LedgerLog(LedgerFiles files, Ed25519Key key) : files_(std::move(files)), key_(std::move(key)) {}
  void sign_head(std::uint64_t now_ms);

  LedgerFiles files_;
  Ed25519Key key_;
  std::vector<LedgerEntry> entries_;
  MerkleTree tree_;
  std::vector<SignedTreeHead> heads_;
};

}  // namespace spare::ledger

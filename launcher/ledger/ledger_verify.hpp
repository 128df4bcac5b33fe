// Checking a ledger directory from the outside, changing nothing: every entry
// well formed, every head signed by the pool's key and matching the entries it
// covers, and each head a reader kept from before a prefix of the newest.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ed25519_key.hpp"
#include "signed_tree_head.hpp"

namespace spare::ledger {

/// A head a reader kept (from a statement, or `spare ledger head`), and where from.
struct KeptHead {
  std::string where;
  SignedTreeHead sth;
};

struct LedgerVerdict {
  std::uint64_t entries = 0;
  std::uint64_t heads = 0;
  std::optional<SignedTreeHead> newest;  // the newest head, if it is signed and matches
  std::vector<std::string> problems;     // each names its file and line, or the kept head
  std::vector<std::string> notes;        // not wrong, but worth saying (an append cut short)
  bool ok() const { return problems.empty(); }
};

/// Reads `dir` (a LedgerLog's directory) and checks it against `key`, the
/// pool's public key as the reader knows it, never the directory's own copy.
/// Throws only where the directory cannot be read at all.
LedgerVerdict verify_ledger(const std::filesystem::path& dir, const Ed25519PublicKey& key,
                            std::span<const KeptHead> kept);

}  // namespace spare::ledger

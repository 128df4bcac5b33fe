// The checks of `spare ledger verify`.
#include "ledger_verify.hpp"

#include <fmt/format.h>

#include "ledger_entry.hpp"
#include "ledger_log.hpp"
#include "merkle_tree.hpp"
#include "spare/error.hpp"

namespace spare::ledger {

namespace fs = std::filesystem;

namespace {

std::string head_text(const SignedTreeHead& sth) {
  return fmt::format("size {}, timestamp {} ms, root {}", sth.head.tree_size, sth.head.timestamp_ms,
                     to_hex(sth.head.root));
}

}  // namespace

LedgerVerdict verify_ledger(const fs::path& dir, const Ed25519PublicKey& key,
                            std::span<const KeptHead> kept) {
  const LedgerFiles files{dir};
  if (!fs::exists(files.heads())) {
    throw Error(ExitCode::usage, fmt::format("{} holds no ledger (no {})", dir.string(),
                                             files.heads().filename().string()));
  }
  LedgerVerdict verdict;
  const std::string entries_name = files.entries().string();
  const std::string heads_name = files.heads().string();

  // Each line is hashed as it is, well formed or not: the heads are checked
  // against the bytes that are there.
  MerkleTree tree;
  const LineFile entries = read_lines(files.entries());
  for (std::size_t i = 0; i < entries.lines.size(); ++i) {
    const std::string where = fmt::format("{}:{}", entries_name, i + 1);
    try {
      parse_entry(entries.lines[i], where);
    } catch (const Error& error) {
      verdict.problems.push_back(error.what());
    }
    tree.append(leaf_hash(bytes_of(entries.lines[i])));
  }
  verdict.entries = tree.size();
  if (entries.torn_tail) {
    verdict.notes.push_back(
        fmt::format("{}: its last line has no newline: an append the pool "
                    "did not finish, not counted (the pool cuts it off)",
                    entries_name));
  }

  const LineFile heads = read_lines(files.heads());
  std::optional<SignedTreeHead> previous;
  for (std::size_t i = 0; i < heads.lines.size(); ++i) {
    const std::string where = fmt::format("{}:{}", heads_name, i + 1);
    SignedTreeHead sth;
    try {
      sth = parse_signed_tree_head(heads.lines[i], where);
    } catch (const Error& error) {
      verdict.problems.push_back(error.what());
      continue;
    }
    ++verdict.heads;
    if (!verify_tree_head(key, sth)) {
      verdict.problems.push_back(
          fmt::format("{}: not signed by the key {} ({})", where, to_hex(key), head_text(sth)));
      continue;
    }
    if (sth.head.tree_size > tree.size()) {
      verdict.problems.push_back(fmt::format(
          "{}: signed for {} entries, but {} holds {}: entries were lost after it was signed",
          where, sth.head.tree_size, entries_name, tree.size()));
      continue;
    }
    if (tree.root(sth.head.tree_size) != sth.head.root) {
      verdict.problems.push_back(fmt::format(
          "{}: its root is not the tree of the first {} entries of {}: an entry among them "
          "was changed after it was signed",
          where, sth.head.tree_size, entries_name));
      continue;
    }
    if (previous && (sth.head.tree_size < previous->head.tree_size ||
                     sth.head.timestamp_ms < previous->head.timestamp_ms)) {
      verdict.problems.push_back(fmt::format("{}: goes back from the head before it ({} after {})",
                                             where, head_text(sth), head_text(*previous)));
    }
    previous = sth;
  }
  if (heads.torn_tail) {
    verdict.notes.push_back(
        fmt::format("{}: its last line has no newline: a head the pool did "
                    "not finish writing, not counted",
                    heads_name));
  }
  verdict.newest = previous;
  if (!previous) {
    verdict.problems.push_back(fmt::format("{}: no head signed by the key {} matches the entries",
                                           heads_name, to_hex(key)));
  } else if (previous->head.tree_size < tree.size()) {
    verdict.problems.push_back(fmt::format("{}: entries {} to {} are under no signed head",
                                           entries_name, previous->head.tree_size + 1,
                                           tree.size()));
  }

  // The heads a reader kept: the newest must extend each, as a consistency
  // proof shows (the proof a reader without the entries would be sent).
  for (const KeptHead& old : kept) {
    if (!verify_tree_head(key, old.sth)) {
      verdict.problems.push_back(
          fmt::format("the head you kept ({}): not signed by the key {}", old.where, to_hex(key)));
      continue;
    }
    if (!previous) continue;  // said above: nothing to compare it with
    if (old.sth.head.tree_size > previous->head.tree_size) {
      verdict.problems.push_back(fmt::format(
          "the head you kept ({}: {}) is of a longer ledger than the newest ({}): history was cut",
          old.where, head_text(old.sth), head_text(*previous)));
      continue;
    }
    const std::vector<Hash> proof =
        tree.consistency_proof(old.sth.head.tree_size, previous->head.tree_size);
    if (!verify_consistency(old.sth.head.tree_size, previous->head.tree_size, old.sth.head.root,
                            previous->head.root, proof)) {
      verdict.problems.push_back(fmt::format(
          "the head you kept ({}: {}) is not a prefix of the newest ({}): history was rewritten",
          old.where, head_text(old.sth), head_text(*previous)));
    }
  }
  return verdict;
}

}  // namespace spare::ledger

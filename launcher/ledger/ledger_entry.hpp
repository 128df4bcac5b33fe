// One entry of the pool's ledger: a credit for validated work, a debit of a
// scientist's account, or the invalidation of credit given for work found
// wrong. Its bytes, as the ledger stores and hashes them, are one canonical
// JSON object: the members in name order, no spaces, integers only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace spare::ledger {

enum class EntryKind { credit, debit, invalidation };

std::string_view to_string(EntryKind kind);

struct LedgerEntry {
  EntryKind kind = EntryKind::credit;
  std::uint64_t time_ms = 0;  // when the pool wrote it, milliseconds since the Unix epoch
  std::string account;        // the volunteer credited or invalidated, the account debited
  std::int64_t job = 0;
  // The segment: the work from the held checkpoint at first_step to the one at last_step.
  std::int64_t first_step = 0;
  std::int64_t last_step = 0;
  std::string digest;  // the validation digest of the checkpoint at last_step, "sha256:HEX"
  // In millionths of the currency, never negative: the kind says which way it goes.
  std::int64_t amount_micros = 0;
  std::string currency;  // ISO 4217: three capital letters
  std::string note;      // why, in words (an invalidation's reason)

  bool operator==(const LedgerEntry&) const = default;
};

/// The canonical text: what the ledger stores as one line and hashes as a leaf.
std::string entry_bytes(const LedgerEntry& entry);

/// Reads an entry's text strictly: every member present with its type, none
/// else, the segment in order, the amount not negative, and the text exactly
/// entry_bytes of what it says (so no two texts are one entry). Anything else
/// throws spare::Error naming `where` and the member.
LedgerEntry parse_entry(std::string_view text, const std::string& where);

}  // namespace spare::ledger

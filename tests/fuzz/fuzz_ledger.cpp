// The ledger's records as a volunteer's `spare ledger verify` reads them from
// a pool it does not trust: an entry (entries.jsonl) and a signed tree head
// (heads.jsonl, a statement, `--head FILE`). Input: the text of one line.
//
// Invariants: only the readers' own errors (spare::Error) escape; an entry
// accepted is canonical (its text is exactly entry_bytes of what it says, so
// no two texts hash as one entry) and reads back the same from those bytes;
// a head accepted is written back by to_json as a head that reads the same.
#include <string>

#include "fuzz_support.hpp"
#include "ledger_entry.hpp"
#include "signed_tree_head.hpp"
#include "spare/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace spare;
  const std::string_view text = fuzz::bytes(data, size);
  try {
    const ledger::LedgerEntry entry = ledger::parse_entry(text, "entries.jsonl:1");
    const std::string canonical = ledger::entry_bytes(entry);
    fuzz::require(canonical == text, "an accepted entry is its canonical text", canonical);
    fuzz::require(ledger::parse_entry(canonical, "again") == entry,
                  "an entry reads back the same from its canonical text", canonical);
  } catch (const Error&) {
  }
  try {
    const ledger::SignedTreeHead head = ledger::parse_signed_tree_head(text, "heads.jsonl:1");
    const std::string written = ledger::to_json(head).dump();
    fuzz::require(ledger::parse_signed_tree_head(written, "again") == head,
                  "a head reads back the same from what to_json writes", written);
  } catch (const Error&) {
  }
  return 0;
}

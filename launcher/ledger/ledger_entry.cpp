// The ledger's entries and their one canonical text.
#include "ledger_entry.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "spare/error.hpp"
#include "strict_object.hpp"

namespace spare::ledger {

using json = nlohmann::json;

namespace {

constexpr EntryKind all_kinds[] = {EntryKind::credit, EntryKind::debit, EntryKind::invalidation};

bool is_currency(const std::string& code) {
  return code.size() == 3 &&
         std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

std::string_view to_string(EntryKind kind) {
  switch (kind) {
    case EntryKind::credit:
      return "credit";
    case EntryKind::debit:
      return "debit";
    case EntryKind::invalidation:
      return "invalidation";
  }
  return "?";
}

std::string entry_bytes(const LedgerEntry& entry) {
  // nlohmann's objects keep their members in name order: dump() is canonical.
  const json value = {{"kind", to_string(entry.kind)},  {"time_ms", entry.time_ms},
                      {"account", entry.account},       {"job", entry.job},
                      {"first_step", entry.first_step}, {"last_step", entry.last_step},
                      {"digest", entry.digest},         {"amount_micros", entry.amount_micros},
                      {"currency", entry.currency},     {"note", entry.note}};
  return value.dump(-1, ' ', false, json::error_handler_t::strict);
}

LedgerEntry parse_entry(std::string_view text, const std::string& where) {
  const std::string what = "ledger entry " + where;
  const json value = parse_json(text, what);
  const StrictObject reader(value, what,
                            {"account", "amount_micros", "currency", "digest", "first_step", "job",
                             "kind", "last_step", "note", "time_ms"});
  LedgerEntry entry;
  const std::string& kind = reader.string("kind");
  const auto* found = std::find_if(std::begin(all_kinds), std::end(all_kinds),
                                   [&](EntryKind k) { return to_string(k) == kind; });
  if (found == std::end(all_kinds)) {
    reader.fail(fmt::format("\"kind\" must be credit, debit or invalidation, found \"{}\"", kind));
  }
  entry.kind = *found;
  entry.time_ms = reader.unsigned_integer("time_ms");
  entry.account = reader.string("account");
  entry.job = reader.integer("job");
  entry.first_step = reader.integer("first_step");
  entry.last_step = reader.integer("last_step");
  entry.digest = reader.string("digest");
  entry.amount_micros = reader.integer("amount_micros");
  entry.currency = reader.string("currency");
  entry.note = reader.string("note");
  if (entry.account.empty()) reader.fail("\"account\" is empty");
  if (!(0 <= entry.first_step && entry.first_step < entry.last_step)) {
    reader.fail(fmt::format("the segment [{}, {}) is not a range of steps", entry.first_step,
                            entry.last_step));
  }
  if (entry.amount_micros < 0) {
    reader.fail(fmt::format("\"amount_micros\" is negative ({}): the kind says which way it goes",
                            entry.amount_micros));
  }
  if (!is_currency(entry.currency)) {
    reader.fail(fmt::format("\"currency\" must be three capital letters (ISO 4217), found \"{}\"",
                            entry.currency));
  }
  if (entry_bytes(entry) != text) {
    reader.fail(
        "not in canonical form (members in name order, no spaces): its hash would not "
        "be the one of what it says");
  }
  return entry;
}

}  // namespace spare::ledger

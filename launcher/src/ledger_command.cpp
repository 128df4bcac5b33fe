// `spare ledger verify|head --state DIR`: the pool's ledger checked from the
// outside, offline, against the pool's public key as the reader knows it.
#include <fmt/format.h>

#include <iostream>

#include "command_line.hpp"
#include "commands.hpp"
#include "ledger_log.hpp"
#include "ledger_verify.hpp"
#include "signed_tree_head.hpp"
#include "spare/atomic_file.hpp"
#include "spare/error.hpp"

namespace spare::launcher {

namespace fs = std::filesystem;

namespace {

// --key: 64 hex digits, or a file holding them (a ledger.pub).
ledger::Ed25519PublicKey key_from(const std::string& text) {
  if (fs::is_regular_file(text)) return ledger::read_public_key(text);
  ledger::Ed25519PublicKey key{};
  try {
    ledger::decode_hex(text, key);
  } catch (const Error& error) {
    throw UsageError(
        fmt::format("--key {}: neither a file nor an Ed25519 public key ({})", text, error.what()));
  }
  return key;
}

int verify(const fs::path& dir, const po::variables_map& vm) {
  const ledger::LedgerFiles files{dir};
  const bool own_key = !vm.count("key");
  if (own_key && !fs::exists(files.public_key())) {
    throw UsageError(fmt::format("{} has no {}: pass the pool's public key with --key",
                                 dir.string(), files.public_key().filename().string()));
  }
  const ledger::Ed25519PublicKey key =
      own_key ? ledger::read_public_key(files.public_key()) : key_from(vm["key"].as<std::string>());
  std::vector<ledger::KeptHead> kept;
  if (vm.count("head")) {
    for (const std::string& path : vm["head"].as<std::vector<std::string>>()) {
      kept.push_back({path, ledger::parse_signed_tree_head(read_file_text(path), path)});
    }
  }
  const ledger::LedgerVerdict verdict = ledger::verify_ledger(dir, key, kept);
  for (const std::string& note : verdict.notes)
    fmt::print("note: {}\n", note);
  for (const std::string& problem : verdict.problems)
    fmt::print("problem: {}\n", problem);
  if (own_key) {
    fmt::print(
        "note: checked against the key in {}, which whoever can write there can replace; "
        "pass the pool's key as you know it with --key\n",
        files.public_key().string());
  }
  if (!verdict.ok()) {
    fmt::print("{}: does NOT verify: {} problem{} ({} entries, {} heads)\n", dir.string(),
               verdict.problems.size(), verdict.problems.size() == 1 ? "" : "s", verdict.entries,
               verdict.heads);
    return static_cast<int>(ExitCode::unverified);
  }
  fmt::print(
      "{}: OK: {} entries, {} heads, each signed by {} and matching the entries it covers; "
      "newest: size {}, root {}{}\n",
      dir.string(), verdict.entries, verdict.heads, ledger::to_hex(key),
      verdict.newest->head.tree_size, ledger::to_hex(verdict.newest->head.root),
      kept.empty() ? std::string()
                   : fmt::format("; it extends the {} head{} you kept", kept.size(),
                                 kept.size() == 1 ? "" : "s"));
  return 0;
}

int head(const fs::path& dir) {
  const ledger::LedgerFiles files{dir};
  const ledger::LineFile heads = ledger::read_lines(files.heads());
  if (heads.lines.empty()) {
    throw UsageError(fmt::format("{} holds no ledger (no signed head in {})", dir.string(),
                                 files.heads().string()));
  }
  // As signed: the reader checks it with `spare ledger verify --head`.
  std::cout << heads.lines.back() << "\n";
  return 0;
}

}  // namespace

int ledger_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "state", po::value<std::string>(), "the pool's state directory (its ledger is DIR/ledger)")(
      "ledger", po::value<std::string>(), "a ledger directory itself, instead of --state")(
      "key", po::value<std::string>(),
      "verify: the pool's public key (64 hex digits, or a file holding them); default: the "
      "ledger's own ledger.pub")("head", po::value<std::vector<std::string>>(),
                                 "verify: a signed head you kept (`spare ledger head`'s output); "
                                 "the ledger must extend it (repeatable)");
  const po::variables_map vm = parse_command_line(args, options, {"action"}, "spare ledger");
  if (vm.count("help") || !vm.count("action")) {
    print_help("spare ledger verify|head (--state DIR | --ledger DIR) [options]",
               "The pool's ledger: an append-only log of credits, debits and invalidations under\n"
               "an RFC 6962 Merkle tree, with a head signed by the pool's Ed25519 key after\n"
               "every append.\n"
               "  verify  checks every entry, every head's signature and root, and that the\n"
               "          ledger extends each --head you kept; exits 6 if anything fails\n"
               "  head    prints the newest signed head, to keep and check later ones against",
               options);
    return vm.count("help") ? 0 : static_cast<int>(ExitCode::usage);
  }
  if (vm.count("state") == vm.count("ledger")) {
    throw UsageError("spare ledger: give the pool's --state DIR or a --ledger DIR (one of them)");
  }
  const fs::path dir = vm.count("ledger") ? fs::path(vm["ledger"].as<std::string>())
                                          : fs::path(vm["state"].as<std::string>()) / "ledger";
  const std::string action = vm["action"].as<std::string>();
  if (action == "verify") return verify(dir, vm);
  if (action == "head") return head(dir);
  throw UsageError("spare ledger: unknown action '" + action + "'; expected verify or head");
}

}  // namespace spare::launcher

// The ledger's files: read back whole at open, appended to with fsync.
#include "ledger_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "file_descriptor.hpp"
#include "spare/atomic_file.hpp"
#include "spare/error.hpp"

namespace spare::ledger {

namespace fs = std::filesystem;
using pool::detail::FileDescriptor;

LineFile read_lines(const fs::path& path) {
  LineFile file;
  if (!fs::exists(path)) return file;
  const std::string text = read_file_text(path);
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      file.torn_tail = true;
      break;
    }
    file.lines.push_back(text.substr(start, end - start));
    start = end + 1;
    file.complete_bytes = start;
  }
  return file;
}

Ed25519PublicKey read_public_key(const fs::path& path) {
  std::string text = read_file_text(path);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  Ed25519PublicKey key{};
  try {
    decode_hex(text, key);
  } catch (const Error& error) {
    throw Error(ExitCode::usage,
                fmt::format("{}: not an Ed25519 public key: {}", path.string(), error.what()));
  }
  return key;
}

namespace {

// Cuts a file back to its complete lines: the bytes after them were an append
// that never finished, so no one was told of them.
void cut_torn_tail(const fs::path& path, const LineFile& file) {
  if (!file.torn_tail) return;
  if (::truncate(path.c_str(), static_cast<off_t>(file.complete_bytes)) != 0) {
    throw SystemError("cannot cut the unfinished last line of " + path.string(), errno);
  }
  fsync_file(path);
}

void append_lines(const fs::path& path, const std::string& text) {
  FileDescriptor out(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
  out.write_all(text.data(), text.size());
  out.sync();
  out.close();
}

}  // namespace

LedgerLog LedgerLog::open(const fs::path& dir, std::uint64_t now_ms) {
  const LedgerFiles files{dir};
  const bool is_new = !fs::exists(files.key());
  if (is_new) {
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
    if (fs::exists(files.entries()) && fs::file_size(files.entries()) > 0) {
      throw Error(ExitCode::internal,
                  fmt::format("the ledger in {} has entries but no key ({} is missing): its "
                              "heads cannot be signed again; restore the key",
                              dir.string(), files.key().string()));
    }
    Ed25519Key::generate().save(files.key());
  }
  LedgerLog log(files, Ed25519Key::load(files.key()));
  const Ed25519PublicKey public_key = log.key_.public_key();
  // Written once, not at every open: start-up reads the ledger, it does not rewrite it.
  const std::string public_text = to_hex(public_key) + "\n";
  if (!fs::exists(files.public_key()) || read_file_text(files.public_key()) != public_text) {
    write_file_atomically(files.public_key(), public_text, 0644);
  }

  const LineFile entries = read_lines(files.entries());
  cut_torn_tail(files.entries(), entries);
  for (std::size_t i = 0; i < entries.lines.size(); ++i) {
    const std::string& line = entries.lines[i];
    log.entries_.push_back(
        parse_entry(line, fmt::format("{}:{}", files.entries().string(), i + 1)));
    log.tree_.append(leaf_hash(bytes_of(line)));
  }
  const LineFile heads = read_lines(files.heads());
  cut_torn_tail(files.heads(), heads);
  for (std::size_t i = 0; i < heads.lines.size(); ++i) {
    log.heads_.push_back(parse_signed_tree_head(
        heads.lines[i], fmt::format("{}:{}", files.heads().string(), i + 1)));
  }
  if (log.heads_.empty()) {
    log.sign_head(now_ms);
  } else {
    const SignedTreeHead& last = log.heads_.back();
    const std::string where = fmt::format("{}:{}", files.heads().string(), log.heads_.size());
    if (!verify_tree_head(public_key, last)) {
      throw Error(ExitCode::internal,
                  fmt::format("{}: the newest head is not signed by the ledger's key ({})", where,
                              files.public_key().string()));
    }
    if (last.head.tree_size > log.tree_.size() ||
        log.tree_.root(last.head.tree_size) != last.head.root) {
      throw Error(
          ExitCode::internal,
          fmt::format("{}: the newest head (size {}) does not match the {} entries of {}: "
                      "they were changed or lost after it was signed",
                      where, last.head.tree_size, log.tree_.size(), files.entries().string()));
    }
    // Appended, then the process stopped before their head was written.
    if (last.head.tree_size < log.tree_.size()) log.sign_head(now_ms);
  }
  return log;
}

const SignedTreeHead& LedgerLog::append(std::span<const LedgerEntry> entries,
                                        std::uint64_t now_ms) {
  std::string text;
  std::vector<std::string> lines;
  for (const LedgerEntry& entry : entries) {
    lines.push_back(entry_bytes(entry));
    // What is stored must read back as the same entry (an empty account, a
    // reversed segment or a lower-case currency is a caller's bug).
    parse_entry(lines.back(), "to be appended");
    text += lines.back() + "\n";
  }
  if (entries.empty()) return head();
  append_lines(files_.entries(), text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    entries_.push_back(entries[i]);
    tree_.append(leaf_hash(bytes_of(lines[i])));
  }
  sign_head(now_ms);
  return head();
}

const LedgerEntry& LedgerLog::entry(std::uint64_t index) const {
  if (index >= entries_.size()) {
    throw Error(ExitCode::usage, fmt::format("the ledger has {} entries: there is no entry {}",
                                             entries_.size(), index));
  }
  return entries_[index];
}

void LedgerLog::sign_head(std::uint64_t now_ms) {
  const std::uint64_t after = heads_.empty() ? 0 : heads_.back().head.timestamp_ms;
  const SignedTreeHead signed_head =
      sign_tree_head(key_, {tree_.size(), std::max(now_ms, after), tree_.root()});
  append_lines(files_.heads(), to_json(signed_head).dump() + "\n");
  heads_.push_back(signed_head);
}

}  // namespace spare::ledger

// Checking the daemon command line a group's head sends to an agent.
#include "daemon_command.hpp"

#include <fmt/format.h>

#include <string_view>

namespace spare::pool {

namespace {

std::string_view trimmed(std::string_view word) {
  const auto first = word.find_first_not_of(' ');
  if (first == std::string_view::npos) return {};
  const auto last = word.find_last_not_of(' ');
  return word.substr(first, last - first + 1);
}

/// mpirun quotes values for a remote shell: "env" -> env.
std::string unquoted(std::string_view word) {
  if (word.size() >= 2 && word.front() == '"' && word.back() == '"') {
    word = word.substr(1, word.size() - 2);
  }
  if (word.find_first_of("\"`$\\\n") != std::string_view::npos) {
    throw LaunchRefused(fmt::format("refused: value {} holds shell syntax", word));
  }
  return std::string(word);
}

}  // namespace

std::vector<std::string> checked_daemon_command(const std::vector<std::string>& words,
                                                const std::string& orted_program,
                                                const LaunchPlaces& places) {
  if (words.empty()) throw LaunchRefused("refused: an empty command");
  const std::string_view program = trimmed(words.front());
  if (program != "orted") {
    throw LaunchRefused(fmt::format(
        "refused: only Open MPI's daemon (orted) is started for a group, not '{}'", program));
  }
  std::vector<std::string> argv{orted_program};
  for (std::size_t i = 1; i < words.size(); ++i) {
    const std::string_view word = trimmed(words[i]);
    if (word == "-mca" || word == "--mca") {
      if (i + 2 >= words.size()) throw LaunchRefused("refused: -mca without a name and a value");
      const std::string name = unquoted(trimmed(words[i + 1]));
      const std::string value = unquoted(trimmed(words[i + 2]));
      const McaDecision decision = judge_mca_parameter(name, value, places);
      if (decision.verdict == McaVerdict::refuse) throw LaunchRefused(decision.reason);
      if (decision.verdict == McaVerdict::pass) argv.insert(argv.end(), {"-mca", name, value});
      i += 2;
    } else {
      // --tree-spawn would make this daemon start others with a program the head chose.
      throw LaunchRefused(fmt::format("refused: daemon option '{}' is not allowed", word));
    }
  }
  // A daemon that spawned others would run them with a program the head chose.
  argv.insert(argv.end(), {"-mca", "plm_rsh_no_tree_spawn", "1"});
  return argv;
}

}  // namespace spare::pool

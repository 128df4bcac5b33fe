// What a group's head may tell the Open MPI daemon and the ranks it starts on
// another volunteer. The head is a volunteer too, so untrusted: every MCA
// parameter it passes, on the daemon's command line or in a rank's
// environment, is judged by name *and* value. A value that names a program
// or a place to load code from never passes; paths must stay in the
// volunteer's own temporary directory.
//
// This file and rank_environment.cpp are also compiled into the statically
// linked worker guard, so they use the standard library only.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace spare::pool {

class LaunchRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The volunteer's own places, which path-valued parameters must stay inside.
struct LaunchPlaces {
  std::string temp_dir = "/tmp";  // Open MPI's session directories live here
};

/// What a parameter's or variable's value may look like.
enum class ValueKind {
  number,      // digits: ids, counts, ranks
  numbers,     // digits, commas and spaces: "0,2"
  flag,        // 0, 1, true, false
  names,       // component names and selections: "^s1,s2,cray", "rsh", "none"
  uri,         // an Open MPI or PMIx contact: "1020067840.0;tcp://192.0.2.2:44827"
  node_regex,  // Open MPI's compressed node list: "vm,[2:10].9.9.9@0(2)"
  hex_key,     // "6ac348cd274e235b-25d000a7f7862d0e"
  network,     // interfaces, CIDRs, ports: "10.201.0.0/24", "eth0,lo", "1024"
  temp_path,   // a directory the ranks create files in: inside the temporary directory
  always_one,  // plm_rsh_no_tree_spawn: a daemon never starts others
  dropped,     // names a program or the head's own directory: never passed on
};

/// Whether `value` is of `kind` (any value is, for dropped).
bool value_fits(ValueKind kind, std::string_view value, const LaunchPlaces& places);
/// What a value of `kind` must be, for messages.
std::string expected_value(ValueKind kind, const LaunchPlaces& places);

enum class McaVerdict {
  pass,    // the daemon or rank gets it as it is
  drop,    // accepted from the head, but not passed on (the volunteer sets its own, or none)
  refuse,  // the whole launch is refused
};

struct McaDecision {
  McaVerdict verdict = McaVerdict::refuse;
  std::string reason;  // for refuse: what is wrong, for the log and the head
};

/// The verdict on MCA parameter `name` = `value` (already unquoted) reaching a
/// daemon or a rank on this volunteer.
McaDecision judge_mca_parameter(std::string_view name, std::string_view value,
                                const LaunchPlaces& places);

/// Whether `path` is `dir` or a normalised absolute path inside it (no "..",
/// ".", empty components or characters beyond [A-Za-z0-9._+-/]).
bool path_inside(std::string_view path, std::string_view dir);

}  // namespace spare::pool

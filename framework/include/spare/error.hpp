// Spare's errors: messages a person can act on, each carrying the exit code
// that `spare` and `spare-worker` return for it (README.md, "Exit codes").
#pragma once

#include <stdexcept>
#include <string>

namespace spare {

enum class ExitCode : int {
  ok = 0,
  internal = 1,     // an unexpected system error or a bug
  usage = 2,        // the command line is wrong
  invalid_job = 3,  // the job file or an override is invalid; nothing was started
  checkpoint = 4,   // a checkpoint is incomplete, corrupt or belongs to another job
  run_failed = 5,   // a rank or mpirun failed; the checkpoints written so far are kept
  unverified = 6,   // a ledger or a statement does not verify against its signatures
};

/// Exit code after a clean stop on a signal: the shell's convention, 128 + signal.
constexpr int exit_code_for_signal(int signal_number) {
  return 128 + signal_number;
}

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(ExitCode::usage, message) {}
};

/// A job that must not start: names the file (or override), the key and what was expected.
class JobError : public Error {
 public:
  explicit JobError(const std::string& message) : Error(ExitCode::invalid_job, message) {}
};

/// What a checkpoint that cannot be used says about itself. Only a corrupt one
/// is set aside for the one before it: a checkpoint that could not be read may
/// be whole, and setting it aside would lose its work to a passing fault.
enum class CheckpointFault {
  corrupt,      // not what was committed: a digest or structure that does not match
  unreadable,   // reading it failed: an I/O error, no memory, a library failure
  unsupported,  // written in a newer format than this Spare reads
};

/// A checkpoint that cannot be used: names the checkpoint, shard and dataset.
/// The checks that find damage throw it as it comes; a failure to read says so.
class CheckpointError : public Error {
 public:
  explicit CheckpointError(const std::string& message,
                           CheckpointFault fault = CheckpointFault::corrupt)
      : Error(ExitCode::checkpoint, message), fault_(fault) {}
  CheckpointFault fault() const noexcept { return fault_; }

 private:
  CheckpointFault fault_;
};

/// An error every rank of a group raised together, at the same point, after
/// agreeing on it: the ranks can stop cleanly instead of aborting each other.
class CollectiveError : public Error {
 public:
  using Error::Error;
};

/// A failed system call: the message names the call, the object and errno's text.
class SystemError : public Error {
 public:
  SystemError(const std::string& what, int errno_value);
  int errno_value() const noexcept { return errno_value_; }

 private:
  int errno_value_;
};

}  // namespace spare

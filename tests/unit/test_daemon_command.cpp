// What a volunteer's agent agrees to start: only Open MPI's daemon, with the
// parameters mpirun passes, unquoted and exec'd without a shell.
#include <gtest/gtest.h>

#include "daemon_command.hpp"
#include "spare/error.hpp"
#include "volunteer_agent.hpp"
#include "worker_guard.hpp"

namespace spare::pool {
namespace {

// What Open MPI 4.1.4's mpirun passed to its launch agent (--noprefix,
// --leave-session-attached, plm_rsh_no_tree_spawn), captured with a fake agent.
const std::vector<std::string> kMpirunWords = {" orted",
                                               "-mca",
                                               "orte_leave_session_attached",
                                               "\"1\"",
                                               "-mca",
                                               "ess",
                                               "\"env\"",
                                               "-mca",
                                               "ess_base_jobid",
                                               "\"1020067840\"",
                                               "-mca",
                                               "ess_base_vpid",
                                               "1",
                                               "-mca",
                                               "ess_base_num_procs",
                                               "\"2\"",
                                               "-mca",
                                               "orte_node_regex",
                                               "\"vm,[2:10].9.9.9@0(2)\"",
                                               "-mca",
                                               "orte_hnp_uri",
                                               "\"1020067840.0;tcp://192.0.2.2:44827\"",
                                               "--mca",
                                               "plm_rsh_no_tree_spawn",
                                               "\"1\"",
                                               "-mca",
                                               "plm",
                                               "\"rsh\"",
                                               "-mca",
                                               "plm_rsh_agent",
                                               "\"/usr/bin/spare launch-client --group /g.json\"",
                                               "-mca",
                                               "pmix",
                                               "\"^s1,s2,cray,isolated\""};

TEST(DaemonCommand, AcceptsWhatMpirunPassesAndUnquotesIt) {
  const std::vector<std::string> argv = checked_daemon_command(kMpirunWords, "/usr/bin/orted");
  ASSERT_EQ(argv.size(), kMpirunWords.size());
  EXPECT_EQ(argv[0], "/usr/bin/orted");
  EXPECT_EQ(argv[1], "-mca");
  EXPECT_EQ(argv[2], "orte_leave_session_attached");
  EXPECT_EQ(argv[3], "1");
  EXPECT_EQ(argv[21], "1020067840.0;tcp://192.0.2.2:44827");
  EXPECT_EQ(argv.back(), "^s1,s2,cray,isolated");
}

TEST(DaemonCommand, RefusesAnyOtherProgram) {
  for (const std::string program : {"/bin/sh", "sh", "orted-evil", "/tmp/orted", ""}) {
    try {
      checked_daemon_command({program, "-c", "true"}, "/usr/bin/orted");
      FAIL() << program << " was accepted";
    } catch (const LaunchRefused& e) {
      EXPECT_NE(std::string(e.what()).find("only Open MPI's daemon (orted)"), std::string::npos)
          << e.what();
    }
  }
  EXPECT_THROW(checked_daemon_command({}, "/usr/bin/orted"), LaunchRefused);
}

TEST(DaemonCommand, RefusesParametersThatRunPrograms) {
  const auto refusal = [](std::vector<std::string> words) {
    try {
      checked_daemon_command(words, "/usr/bin/orted");
    } catch (const LaunchRefused& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(refusal({"orted", "-mca", "orte_fork_agent", "/bin/sh"}),
            "refused: MCA parameter 'orte_fork_agent' is not allowed");
  EXPECT_EQ(refusal({"orted", "--tree-spawn"}),
            "refused: daemon option '--tree-spawn' is not allowed");
  EXPECT_EQ(refusal({"orted", "--daemonize"}),
            "refused: daemon option '--daemonize' is not allowed");
  EXPECT_EQ(refusal({"orted", "-mca", "ess"}), "refused: -mca without a name and a value");
  EXPECT_EQ(refusal({"orted", "-mca", "ess", "\"$(reboot)\""}),
            "refused: value $(reboot) holds shell syntax");
  EXPECT_EQ(refusal({"PATH=/tmp:$PATH ; export PATH ; orted"}).substr(0, 45),
            "refused: only Open MPI's daemon (orted) is st");
}

TEST(ByteSize, ReadsUnitsAndRefusesJunk) {
  EXPECT_EQ(parse_byte_size("8G"), 8LL << 30);
  EXPECT_EQ(parse_byte_size("512M"), 512LL << 20);
  EXPECT_EQ(parse_byte_size("1.5K"), 1536);
  EXPECT_EQ(parse_byte_size("1000"), 1000);
  for (const char* bad : {"", "G", "-1G", "8X", "0", "lots"}) {
    EXPECT_THROW(parse_byte_size(bad), UsageError) << bad;
  }
}

TEST(WorkerGuard, RunsOnlyTheVolunteersOwnWorkerOnTheGroupsJob) {
  const std::filesystem::path worker = "/opt/spare/bin/spare-worker";
  // The head's worker may live elsewhere: the volunteer runs its own.
  EXPECT_EQ(checked_worker_command({"/usr/bin/spare-worker", "--job", "job.ini"}, worker),
            (std::vector<std::string>{"/opt/spare/bin/spare-worker", "--job", "job.ini"}));
  EXPECT_EQ(checked_worker_command({"spare-worker", "--job", "job.ini"}, worker)[0],
            worker.string());
  for (const std::vector<std::string>& rank :
       std::vector<std::vector<std::string>>{{"/bin/sh", "-c", "touch /tmp/pwned"},
                                             {"/tmp/spare-worker-evil", "--job", "job.ini"},
                                             {"spare-worker", "--job", "/etc/other.ini"},
                                             {"spare-worker", "--job", "job.ini", "--describe"},
                                             {"spare-worker"},
                                             {}}) {
    try {
      checked_worker_command(rank, worker);
      ADD_FAILURE() << "accepted " << ::testing::PrintToString(rank);
    } catch (const LaunchRefused& refused) {
      EXPECT_NE(std::string(refused.what()).find("runs only spare-worker --job job.ini"),
                std::string::npos)
          << refused.what();
    }
  }
}

TEST(WorkerGuard, TheForkAgentNamesTheGuardAndRefusesPathsWithSpaces) {
  EXPECT_EQ(worker_guard_agent("/usr/bin/spare", "/v/jobs/3/refused.log", "/usr/bin/spare-worker"),
            "/usr/bin/spare worker-guard /v/jobs/3/refused.log /usr/bin/spare-worker");
  EXPECT_THROW(worker_guard_agent("/usr/bin/spare", "/my storage/refused.log", "/w"),
               LaunchRefused);
}

}  // namespace
}  // namespace spare::pool

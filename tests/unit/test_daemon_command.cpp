// What a volunteer's agent agrees to start: only Open MPI's daemon, with the
// parameters mpirun passes, unquoted and exec'd without a shell.
#include <gtest/gtest.h>

#include <algorithm>

#include "byte_size.hpp"
#include "daemon_command.hpp"
#include "spare/error.hpp"
#include "static_program.hpp"
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

const LaunchPlaces kPlaces{"/tmp"};

std::vector<std::string> daemon_command(const std::vector<std::string>& words) {
  return checked_daemon_command(words, "/usr/bin/orted", kPlaces);
}

TEST(DaemonCommand, AcceptsWhatMpirunPassesAndUnquotesIt) {
  const std::vector<std::string> argv = daemon_command(kMpirunWords);
  // The head's launch client (plm_rsh_agent) is not passed on, and tree spawning
  // is switched off by the volunteer itself, last.
  const std::vector<std::string> expected = {"/usr/bin/orted",
                                             "-mca",
                                             "orte_leave_session_attached",
                                             "1",
                                             "-mca",
                                             "ess",
                                             "env",
                                             "-mca",
                                             "ess_base_jobid",
                                             "1020067840",
                                             "-mca",
                                             "ess_base_vpid",
                                             "1",
                                             "-mca",
                                             "ess_base_num_procs",
                                             "2",
                                             "-mca",
                                             "orte_node_regex",
                                             "vm,[2:10].9.9.9@0(2)",
                                             "-mca",
                                             "orte_hnp_uri",
                                             "1020067840.0;tcp://192.0.2.2:44827",
                                             "-mca",
                                             "plm",
                                             "rsh",
                                             "-mca",
                                             "pmix",
                                             "^s1,s2,cray,isolated",
                                             "-mca",
                                             "plm_rsh_no_tree_spawn",
                                             "1"};
  EXPECT_EQ(argv, expected);
}

TEST(DaemonCommand, ChecksTheValuesOfAllowedParameters) {
  const auto refusal = [](const std::string& name, const std::string& value) {
    try {
      daemon_command({"orted", "-mca", name, value});
    } catch (const LaunchRefused& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  // What the probe got accepted: a program, and directories outside /tmp.
  EXPECT_EQ(refusal("orte_tmpdir_base", "/etc"),
            "refused: MCA parameter 'orte_tmpdir_base' = '/etc': expected a directory inside /tmp");
  EXPECT_EQ(refusal("btl_vader_backing_directory", "/etc").substr(0, 62),
            "refused: MCA parameter 'btl_vader_backing_directory' = '/etc':");
  EXPECT_EQ(refusal("orte_tmpdir_base", "/tmp/../etc").substr(0, 56),
            "refused: MCA parameter 'orte_tmpdir_base' = '/tmp/../etc");
  EXPECT_EQ(refusal("orte_tmpdir_base", "/tmp/spare"), "accepted");
  EXPECT_EQ(refusal("plm_rsh_no_tree_spawn", "0").substr(0, 56),
            "refused: MCA parameter 'plm_rsh_no_tree_spawn' = '0': ex");
  EXPECT_EQ(refusal("ess_base_jobid", "12;rm").substr(0, 46),
            "refused: MCA parameter 'ess_base_jobid' = '12;");
  EXPECT_EQ(refusal("btl_tcp_if_include", "10.201.3.0/24"), "accepted");
  // Found by fuzz_daemon_command: a family's prefix followed by any bytes.
  for (const std::string name : {"btl_tcp_x y;z", "oob_tcp_)", "btl_vader_\xc3\xa9", ""}) {
    EXPECT_EQ(refusal(name, "1"),
              "refused: an MCA parameter's name holds characters other than letters, digits "
              "and '_'")
        << name;
  }
  EXPECT_EQ(refusal("mca_base_component_path", "/tmp"),
            "refused: MCA parameter 'mca_base_component_path' is not allowed");
  EXPECT_EQ(refusal("mca_base_param_files", "/tmp/p.conf"),
            "refused: MCA parameter 'mca_base_param_files' is not allowed");
  // A value that names a program is never passed on, whatever it is.
  const std::vector<std::string> argv =
      daemon_command({"orted", "-mca", "plm_rsh_agent", "/bin/sh -c reboot"});
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "/bin/sh -c reboot"), argv.end());
}

TEST(DaemonCommand, PathsStayInsideTheirDirectory) {
  EXPECT_TRUE(path_inside("/tmp", "/tmp"));
  EXPECT_TRUE(path_inside("/tmp/ompi.lap1.0/jf.1", "/tmp/"));
  for (const char* outside : {"/tmpx", "/etc", "tmp/x", "/tmp/../etc", "/tmp/./x", "/tmp//x",
                              "/tmp/x/", "/tmp/a b", "/tmp/$(x)", ""}) {
    EXPECT_FALSE(path_inside(outside, "/tmp")) << outside;
  }
}

TEST(DaemonCommand, RefusesAnyOtherProgram) {
  for (const std::string program : {"/bin/sh", "sh", "orted-evil", "/tmp/orted", ""}) {
    try {
      daemon_command({program, "-c", "true"});
      FAIL() << program << " was accepted";
    } catch (const LaunchRefused& e) {
      EXPECT_NE(std::string(e.what()).find("only Open MPI's daemon (orted)"), std::string::npos)
          << e.what();
    }
  }
  EXPECT_THROW(daemon_command({}), LaunchRefused);
}

TEST(DaemonCommand, RefusesParametersThatRunPrograms) {
  const auto refusal = [](std::vector<std::string> words) {
    try {
      daemon_command(words);
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
  // Found by fuzz_names: beyond an int64 (the cast was undefined, and gave a
  // negative size), and below one byte (0, which --memory reads as "all").
  for (const char* bad : {"1e25", "9999999999999999999T", "9.3e18", "0.5", "0.9B", "1e-300G"}) {
    EXPECT_THROW(parse_byte_size(bad), UsageError) << bad;
  }
  EXPECT_EQ(parse_byte_size("1"), 1);
  EXPECT_EQ(parse_byte_size("8388607T"), 8388607LL << 40);  // 2^63 - 2^40
  EXPECT_THROW(parse_byte_size("8388608T"), UsageError);    // 2^63
}

TEST(WorkerGuard, RunsOnlyTheVolunteersOwnWorkerOnTheGroupsJob) {
  const std::string worker = "/opt/spare/bin/spare-worker";
  // The head's worker may live elsewhere: the volunteer runs its own.
  EXPECT_EQ(checked_worker_command({"/usr/bin/spare-worker", "--job", "job.ini"}, worker),
            (std::vector<std::string>{"/opt/spare/bin/spare-worker", "--job", "job.ini"}));
  EXPECT_EQ(checked_worker_command({"spare-worker", "--job", "job.ini"}, worker)[0], worker);
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

TEST(WorkerGuard, TheForkAgentCarriesTheVolunteersSettingsAndTheyReadBack) {
  const GuardSettings settings{
      "/usr/bin/spare-worker", "/v/jobs/3", "/v/jobs/3/refused.log", "0,1", {"/var/tmp"}};
  const std::string agent = worker_guard_agent("/usr/bin/spare-worker-guard", settings);
  EXPECT_EQ(agent,
            "/usr/bin/spare-worker-guard --log=/v/jobs/3/refused.log --job-dir=/v/jobs/3 "
            "--tmp=/var/tmp --gpus=0,1 --worker=/usr/bin/spare-worker");
  // Open MPI splits it at spaces and appends the rank's command line.
  std::vector<std::string> words;
  for (std::size_t start = agent.find(' ') + 1; start != 0; start = agent.find(' ', start) + 1)
    words.push_back(agent.substr(start, agent.find(' ', start) - start));
  words.insert(words.end(), {"/usr/bin/spare-worker", "--job", "job.ini"});
  std::vector<std::string> rank;
  const GuardSettings read = parse_guard_settings(words, rank);
  EXPECT_EQ(read.worker, settings.worker);
  EXPECT_EQ(read.job_dir, settings.job_dir);
  EXPECT_EQ(read.refusal_log, settings.refusal_log);
  EXPECT_EQ(read.gpus, settings.gpus);
  EXPECT_EQ(read.places.temp_dir, "/var/tmp");
  EXPECT_EQ(rank, (std::vector<std::string>{"/usr/bin/spare-worker", "--job", "job.ini"}));
  GuardSettings spaced = settings;
  spaced.refusal_log = "/my storage/refused.log";
  EXPECT_THROW(worker_guard_agent("/usr/bin/spare-worker-guard", spaced), LaunchRefused);
  EXPECT_THROW(parse_guard_settings({"--log=/l", "/usr/bin/spare-worker"}, rank), LaunchRefused);
  EXPECT_THROW(parse_guard_settings(
                   {"--evil=1", "--log=/l", "--job-dir=/j", "--tmp=/tmp", "--worker=/w"}, rank),
               LaunchRefused);
}

TEST(WorkerGuard, TheBuiltGuardIsStaticallyLinkedAndSpareIsNot) {
  // What the agent checks before it volunteers: the loader never starts the guard.
  EXPECT_TRUE(is_statically_linked(SPARE_TEST_GUARD_PROGRAM));
  EXPECT_FALSE(is_statically_linked(SPARE_TEST_SPARE_PROGRAM));
  EXPECT_THROW(is_statically_linked(__FILE__), Error);
}

}  // namespace
}  // namespace spare::pool

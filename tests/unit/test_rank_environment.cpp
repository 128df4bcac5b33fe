// The environments a volunteer builds for a group's daemon and ranks: what a
// head's mpirun forwards reaches the worker only if it is known to be safe.
#include <gtest/gtest.h>

#include <algorithm>

#include "rank_environment.hpp"

namespace spare::pool {
namespace {

// What a rank on the member of a two-laptop group got from Open MPI 4.1.4's
// daemon (captured on the laptop cluster with a worker that printed it), less
// the agent's own variables that reached it then.
const std::vector<std::string> kDaemonGaveTheRank = {
    "OMPI_ALLOW_RUN_AS_ROOT=1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
    "OMPI_APP_CTX_NUM_PROCS=2",
    "OMPI_ARGV=--job job.ini",
    "OMPI_COMMAND=spare-worker",
    "OMPI_COMM_WORLD_LOCAL_RANK=0",
    "OMPI_COMM_WORLD_LOCAL_SIZE=1",
    "OMPI_COMM_WORLD_NODE_RANK=0",
    "OMPI_COMM_WORLD_RANK=1",
    "OMPI_COMM_WORLD_SIZE=2",
    "OMPI_FILE_LOCATION=/tmp/ompi.spa173-lap2.0/jf.40842/0/1",
    "OMPI_FIRST_RANKS=0",
    "OMPI_MCA_btl_tcp_if_include=10.201.234.0/24",
    "OMPI_MCA_ess=^singleton",
    "OMPI_MCA_ess_base_jobid=2676621313",
    "OMPI_MCA_ess_base_num_procs=2",
    "OMPI_MCA_ess_base_vpid=1",
    "OMPI_MCA_hwloc_base_binding_policy=none",
    "OMPI_MCA_initial_wdir=/home/head/somewhere",
    "OMPI_MCA_mpi_oversubscribe=0",
    "OMPI_MCA_mpi_yield_when_idle=1",  // the head's own (mpirun_environment), not captured
    "OMPI_MCA_oob_tcp_if_include=10.201.234.0/24",
    "OMPI_MCA_orte_app_num=0",
    "OMPI_MCA_orte_ess_node_rank=0",
    "OMPI_MCA_orte_ess_num_procs=2",
    "OMPI_MCA_orte_fork_agent=/usr/bin/spare-worker-guard --log=/v/jobs/1/refused.log",
    "OMPI_MCA_orte_hnp_uri=2676621312.0;tcp://10.201.234.11:52421",
    "OMPI_MCA_orte_jobfam_session_dir=/tmp/ompi.spa173-lap2.0/jf.40842",
    "OMPI_MCA_orte_launch=1",
    "OMPI_MCA_orte_leave_session_attached=1",
    "OMPI_MCA_orte_local_daemon_uri=2676621312.1;tcp://10.201.234.12:38143",
    "OMPI_MCA_orte_node_regex=spa[3:173]-lap1,[2:10].201.234.12@0(2)",
    "OMPI_MCA_orte_num_nodes=2",
    "OMPI_MCA_orte_precondition_transports=6ac348cd274e235b-25d000a7f7862d0e",
    "OMPI_MCA_orte_tmpdir_base=/tmp",
    "OMPI_MCA_orte_top_session_dir=/tmp/ompi.spa173-lap2.0",
    "OMPI_MCA_plm=rsh",
    "OMPI_MCA_plm_rsh_agent=/usr/bin/spare launch-client --group /v/jobs/1/group-1.json",
    "OMPI_MCA_plm_rsh_no_tree_spawn=1",
    "OMPI_MCA_pmix=^s1,s2,cray,isolated",
    "OMPI_MCA_shmem_RUNTIME_QUERY_hint=mmap",
    "OMPI_NUM_APP_CTX=1",
    "OMPI_UNIVERSE_SIZE=2",
    "PMIX_BFROP_BUFFER_TYPE=PMIX_BFROP_BUFFER_NON_DESC",
    "PMIX_DSTORE_21_BASE_PATH=/tmp/ompi.spa173-lap2.0/jf.40842/pmix_dstor_ds21_15421",
    "PMIX_DSTORE_ESH_BASE_PATH=/tmp/ompi.spa173-lap2.0/jf.40842/pmix_dstor_ds12_15421",
    "PMIX_GDS_MODULE=ds21,ds12,hash",
    "PMIX_HOSTNAME=spa173-lap2",
    "PMIX_ID=2676621313.1",
    "PMIX_MCA_mca_base_component_show_load_errors=1",
    "PMIX_NAMESPACE=2676621313",
    "PMIX_RANK=1",
    "PMIX_SECURITY_MODE=native",
    "PMIX_SERVER_TMPDIR=/tmp/ompi.spa173-lap2.0/jf.40842",
    "PMIX_SERVER_URI21=2676621312.1;tcp4://127.0.0.1:45939",
    "PMIX_SERVER_URI2=2676621312.1;tcp4://127.0.0.1:45939",
    "PMIX_SERVER_URI3=2676621312.1;tcp4://127.0.0.1:45939",
    "PMIX_SERVER_URI41=2676621312.1;tcp4://127.0.0.1:45939",
    "PMIX_SERVER_URI4=2676621312.1;tcp4://127.0.0.1:45939",
    "PMIX_SYSTEM_TMPDIR=/tmp",
    "PMIX_VERSION=4.2.2rc2",
};

const GuardSettings kSettings{
    "/usr/bin/spare-worker", "/v/jobs/1", "/v/jobs/1/refused.log", "0", {"/tmp"}};

bool has(const std::vector<std::string>& environment, const std::string& entry) {
  return std::find(environment.begin(), environment.end(), entry) != environment.end();
}

bool names(const std::vector<std::string>& environment, const std::string& name) {
  return std::any_of(environment.begin(), environment.end(),
                     [&](const std::string& e) { return e.starts_with(name + "="); });
}

std::string refusal(std::vector<std::string> received) {
  try {
    worker_environment(received, kSettings);
  } catch (const LaunchRefused& refused) {
    return refused.what();
  }
  return "accepted";
}

TEST(RankEnvironment, WhatTheDaemonGivesARankPassesWithTheVolunteersOwnSettings) {
  std::vector<std::string> received = kDaemonGaveTheRank;
  // The agent's own, which reached the ranks before: its token stays with it.
  received.insert(received.end(), {"SPARE_TOKEN=secret", "SPARE_JOB_DIR=/head/says",
                                   "PATH=/head/bin", "HOME=/root", "CUDA_VISIBLE_DEVICES=0,1,2"});
  const std::vector<std::string> env = worker_environment(received, kSettings);
  for (const char* kept :
       {"OMPI_COMM_WORLD_RANK=1", "OMPI_MCA_ess_base_jobid=2676621313",
        "PMIX_SERVER_URI41=2676621312.1;tcp4://127.0.0.1:45939",
        "PMIX_DSTORE_21_BASE_PATH=/tmp/ompi.spa173-lap2.0/jf.40842/"
        "pmix_dstor_ds21_15421",
        "OMPI_MCA_btl_tcp_if_include=10.201.234.0/24", "OMPI_MCA_mpi_yield_when_idle=1"}) {
    EXPECT_TRUE(has(env, kept)) << kept;
  }
  for (const char* set :
       {"SPARE_JOB_DIR=/v/jobs/1", "HOME=/v/jobs/1", "TMPDIR=/tmp", "CUDA_VISIBLE_DEVICES=0",
        "PATH=/usr/local/bin:/usr/bin:/bin", "OMPI_MCA_initial_wdir=/v/jobs/1",
        "OMPI_COMMAND=spare-worker", "OMPI_ARGV=--job job.ini"}) {
    EXPECT_TRUE(has(env, set)) << set;
  }
  for (const char* gone : {"SPARE_TOKEN", "OMPI_MCA_plm_rsh_agent", "OMPI_MCA_orte_fork_agent",
                           "OMPI_MCA_plm_rsh_no_tree_spawn"}) {
    EXPECT_FALSE(names(env, gone)) << gone;
  }
  // One value per name: the head's are not left beside the volunteer's.
  for (const char* single : {"SPARE_JOB_DIR", "PATH", "HOME", "CUDA_VISIBLE_DEVICES",
                             "OMPI_MCA_initial_wdir", "OMPI_COMMAND"}) {
    EXPECT_EQ(std::count_if(
                  env.begin(), env.end(),
                  [&](const std::string& e) { return e.starts_with(std::string(single) + "="); }),
              1)
        << single;
  }
}

TEST(RankEnvironment, LoaderAndPluginVariablesFromTheHeadRefuseTheRank) {
  const auto with = [](const std::string& entry) {
    std::vector<std::string> received = kDaemonGaveTheRank;
    received.push_back(entry);
    return refusal(received);
  };
  EXPECT_EQ(with("LD_PRELOAD=/v/jobs/1/copies/step-300/shard-00000.h5"),
            "refused to start the rank: LD_PRELOAD was forwarded by the head: a variable that "
            "steers the loader, Open MPI or PMIx, and not one a rank needs");
  EXPECT_NE(with("LD_LIBRARY_PATH=/tmp/evil").find("LD_LIBRARY_PATH was forwarded"),
            std::string::npos);
  EXPECT_EQ(with("OMPI_MCA_mca_base_component_path=/tmp/evil"),
            "refused to start the rank: OMPI_MCA_mca_base_component_path: refused: MCA "
            "parameter 'mca_base_component_path' is not allowed");
  EXPECT_NE(with("PMIX_MCA_mca_base_component_path=/tmp/evil").find("PMIX_MCA_mca_base_"),
            std::string::npos);
  EXPECT_NE(with("OPAL_PREFIX=/tmp/evil").find("OPAL_PREFIX was forwarded"), std::string::npos);
  EXPECT_NE(with("OMPI_MCA_orte_tmpdir_base=/etc").find("expected a directory inside /tmp"),
            std::string::npos);
  EXPECT_NE(with("PMIX_SERVER_TMPDIR=/tmp/../etc").find("PMIX_SERVER_TMPDIR"), std::string::npos);
  EXPECT_NE(with("OMPI_MCA_mpi_yield_when_idle=/bin/sh").find("expected 0, 1, true or false"),
            std::string::npos);
  EXPECT_NE(with("OMPI_COMM_WORLD_RANK=1;x").find("OMPI_COMM_WORLD_RANK"), std::string::npos);
  // Found by fuzz_daemon_command: a numbered name with anything after it, an
  // entry without a value, and a family's MCA name with any bytes after it.
  EXPECT_NE(with("PMIX_SERVER_URI;x=pmix-server.1;tcp4://127.0.0.1:1").find("PMIX_SERVER_URI;x"),
            std::string::npos);
  EXPECT_EQ(with("OMPI_MCA_btl_tcp_if_include"),
            "refused to start the rank: 'OMPI_MCA_btl_tcp_if_include' was forwarded without a "
            "value (expected NAME=VALUE)");
  EXPECT_NE(with("OMPI_MCA_btl_tcp_a b=1").find("name holds characters"), std::string::npos);
  // Anything else the head forwards is dropped: the worker does not see it.
  std::vector<std::string> received = kDaemonGaveTheRank;
  received.insert(received.end(), {"FOO=bar", "HDF5_PLUGIN_PATH=/tmp/evil",
                                   "CUDA_INJECTION64_PATH=/tmp/evil.so", "GCONV_PATH=/tmp"});
  const std::vector<std::string> env = worker_environment(received, kSettings);
  for (const char* gone : {"FOO", "HDF5_PLUGIN_PATH", "CUDA_INJECTION64_PATH", "GCONV_PATH"}) {
    EXPECT_FALSE(names(env, gone)) << gone;
  }
}

TEST(RankEnvironment, TheDaemonGetsWhatItNeedsOfTheAgentsOwnAndNothingElse) {
  const std::vector<std::string> env = daemon_environment(
      {"PATH=/usr/bin:/bin", "HOME=/root", "SPARE_TOKEN=secret", "LD_PRELOAD=/x.so",
       "LD_LIBRARY_PATH=/opt", "OMPI_MCA_mca_base_component_path=/x", "TMPDIR=/var/tmp",
       "SPARE_JOB_DIR=/old"},
      {"SPARE_JOB_DIR=/v/jobs/1", "CUDA_VISIBLE_DEVICES="});
  EXPECT_EQ(env, (std::vector<std::string>{"PATH=/usr/bin:/bin", "HOME=/root", "TMPDIR=/var/tmp",
                                           "SPARE_JOB_DIR=/v/jobs/1", "CUDA_VISIBLE_DEVICES="}));
}

}  // namespace
}  // namespace spare::pool

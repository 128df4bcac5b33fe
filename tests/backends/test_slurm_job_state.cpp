// squeue --json read into typed states: Slurm 22.05's strings and newer lists.
#include <gtest/gtest.h>

#include "backends/slurm_job_state.hpp"
#include "spare/error.hpp"

namespace spare::launcher {
namespace {

TEST(SlurmJobState, ReadsEveryJobOfSqueuesJson) {
  // Trimmed from slurm-wlm 22.05's answer, with a job of a newer Slurm's shape.
  const auto jobs = parse_squeue_json(R"({
    "meta": {"plugin": {"type": "openapi/v0.0.38"}},
    "errors": [],
    "jobs": [
      {"job_id": 41, "job_state": "PENDING", "state_reason": "BeginTime", "restart_cnt": 1},
      {"job_id": 42, "job_state": "RUNNING", "state_reason": "None", "restart_cnt": 0},
      {"job_id": 43, "job_state": ["COMPLETED"], "state_reason": "None"},
      {"job_id": 44, "job_state": "RESV_DEL_HOLD"},
      {"job_state": "RUNNING"}
    ]})");
  ASSERT_EQ(jobs.size(), 4u);
  EXPECT_EQ(jobs.at("41").state, SlurmJobState::pending);
  EXPECT_EQ(jobs.at("41").reason, "BeginTime");
  EXPECT_EQ(jobs.at("41").restarts, 1);
  EXPECT_EQ(jobs.at("42").state, SlurmJobState::running);
  EXPECT_EQ(jobs.at("43").state, SlurmJobState::completed);
  EXPECT_EQ(jobs.at("44").state, SlurmJobState::other);
  EXPECT_EQ(jobs.at("44").state_text, "RESV_DEL_HOLD");
}

TEST(SlurmJobState, AnArraysTasksAreFoundByArrayAndTask) {
  // Task 1 runs as job 51; tasks 2 and 3 wait in the array's own record.
  const auto jobs = parse_squeue_json(R"({"jobs": [
      {"job_id": 51, "array_job_id": 50, "array_task_id": 1, "job_state": "RUNNING"},
      {"job_id": 50, "array_job_id": 50, "array_task_id": null, "array_task_string": "2-3",
       "job_state": "PENDING", "state_reason": "Resources"},
      {"job_id": 52, "array_job_id": 0, "array_task_id": null, "job_state": "RUNNING"}]})");
  EXPECT_EQ(jobs.at("50_1").state, SlurmJobState::running);
  EXPECT_EQ(jobs.at("50_*").state, SlurmJobState::pending);
  EXPECT_EQ(jobs.at("50_*").reason, "Resources");
  EXPECT_EQ(jobs.count("52_*"), 0u);  // not an array
  EXPECT_EQ(jobs.at("52").state, SlurmJobState::running);
}

TEST(SlurmJobState, NamesEveryStateItKnows) {
  EXPECT_EQ(parse_slurm_job_state("CANCELLED"), SlurmJobState::cancelled);
  EXPECT_EQ(parse_slurm_job_state("PREEMPTED"), SlurmJobState::preempted);
  EXPECT_EQ(parse_slurm_job_state("REQUEUE_HOLD"), SlurmJobState::requeued);
  EXPECT_EQ(parse_slurm_job_state("OUT_OF_MEMORY"), SlurmJobState::out_of_memory);
  EXPECT_EQ(parse_slurm_job_state("running"),
            SlurmJobState::other);  // Slurm's words are upper case
}

TEST(SlurmJobState, ReadsSacctsLinesOfJobsSlurmctldForgot) {
  const auto jobs = parse_sacct_lines(
      "41|COMPLETED|0:0|None|0\n"
      "42|CANCELLED by 0|0:15|None|0\n"
      "43_2|TIMEOUT|0:0|TimeLimit|2\n"
      "44|NODE_FAIL|1:0|None|x\n"
      "garbage line\n"
      "|RUNNING|0:0|None|0\n");
  ASSERT_EQ(jobs.size(), 4u);
  EXPECT_EQ(jobs.at("41").state, SlurmJobState::completed);
  EXPECT_EQ(jobs.at("42").state, SlurmJobState::cancelled);
  EXPECT_EQ(jobs.at("42").state_text, "CANCELLED");
  EXPECT_EQ(jobs.at("43_2").state, SlurmJobState::timeout);
  EXPECT_EQ(jobs.at("43_2").reason, "TimeLimit");
  EXPECT_EQ(jobs.at("43_2").restarts, 2);
  EXPECT_EQ(jobs.at("44").state, SlurmJobState::node_fail);
  EXPECT_EQ(jobs.at("44").restarts, 0);
  // Asked for every forgotten job at once, in the fields read above.
  EXPECT_EQ(
      sacct_command({"41", "43_2"}),
      (std::vector<std::string>{"sacct", "--noheader", "--parsable2", "--allocations", "--format",
                                "JobID,State,ExitCode,Reason,Restarts", "--jobs", "41,43_2"}));
}

TEST(SlurmJobState, AnAnswerThatIsNotSqueuesJsonIsAnError) {
  EXPECT_THROW(parse_squeue_json("squeue: error: Invalid user"), Error);
  EXPECT_THROW(parse_squeue_json(R"({"jobs": 3})"), Error);
}

}  // namespace
}  // namespace spare::launcher

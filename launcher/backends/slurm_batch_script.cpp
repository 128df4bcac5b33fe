// Writing a Slurm job's batch script.
#include "slurm_batch_script.hpp"

#include <fmt/format.h>

#include "shell_quoted.hpp"

namespace spare::launcher {

namespace fs = std::filesystem;

fs::path slurm_directory(const fs::path& output) {
  return output / "slurm";
}

std::string slurm_batch_script(const SlurmBatchOptions& o) {
  const bool array = o.array_size > 0;
  // A sweep's task k runs the job of OUTPUT/task-k (its own output directory).
  const std::string task_dir = array ? "\"$base/task-$SLURM_ARRAY_TASK_ID\"" : "\"$base\"";
  std::string s = fmt::format(
      "#!/bin/bash\n"
      "# Spare job {name}: {description}.\n"
      "# Written by `spare submit`; it runs `spare run` on the allocation (mpirun\n"
      "# spare-worker, one rank a task) and resumes from the newest checkpoint of\n"
      "# the job's output directory. USR1 from Slurm (the time limit is near, or\n"
      "# the job is preempted) makes the ranks checkpoint and stop, and the job\n"
      "# requeue itself; scancel stops it for good. Submit it again by hand with\n"
      "#   sbatch {script}\n",
      fmt::arg("name", o.job_name), fmt::arg("description", o.description),
      fmt::arg("script", (slurm_directory(o.output) / "job.sbatch").string()));
  auto line = [&](const std::string& option) { s += "#SBATCH " + option + "\n"; };
  line("--job-name=" + o.job_name);
  line("--partition=" + o.partition);
  if (o.account) line("--account=" + *o.account);
  if (o.time) line("--time=" + *o.time);
  if (o.qos) line("--qos=" + *o.qos);
  if (o.gres) line("--gres=" + *o.gres);
  line(fmt::format("--ntasks={}", o.ntasks));
  // The nodes may not have the directory spare submit ran in; they share this one.
  line("--chdir=" + o.output.string());
  if (array) line(fmt::format("--array=1-{}", o.array_size));
  // A task's directory is laid out as a job's: its log, exit status and checkpoints.
  line("--output=" +
       (slurm_directory(array ? o.output / "task-%a" : o.output) / "job.log").string());
  line("--open-mode=append");
  line("--requeue");
  line(fmt::format("--signal=B:USR1@{}", o.signal_lead));
  for (const std::string& option : o.sbatch_options)
    line(option);
  s += fmt::format(
      "set -u\n"
      "base={base}\n"
      "dir={task_dir}\n"
      "exit_file=\"$dir/slurm/exit\"\n"
      "mkdir -p \"$dir/slurm\"\n"
      "echo \"[spare] Slurm job ${{SLURM_JOB_ID}}, start ${{SLURM_RESTART_COUNT:-0}}, on "
      "$(hostname) at $(date -u +%FT%TZ)\"\n"
      "rm -f \"$exit_file\"\n"
      "run=\n"
      "requeue=0\n"
      "stop_run() {{ [ -n \"$run\" ] && kill -TERM \"$run\" 2>/dev/null; }}\n"
      "trap 'requeue=1; echo \"[spare] USR1 from Slurm (time limit or preemption): "
      "checkpoint, stop, requeue\"; stop_run' USR1\n"
      "trap 'requeue=0; echo \"[spare] USR2 (a move): checkpoint and stop\"; stop_run' USR2\n"
      "# scancel signals every process of the job itself: nothing to forward.\n"
      "trap 'requeue=0; echo \"[spare] SIGTERM: stopping, no requeue\"' TERM\n"
      "{spare} run \"$dir/job.ini\" &\n"
      "run=$!\n"
      "# bash's wait returns when a trapped signal comes: wait until spare run is gone.\n"
      "while kill -0 \"$run\" 2>/dev/null; do wait \"$run\"; done\n"
      "wait \"$run\"; status=$?\n"
      "if [ \"$requeue\" = 1 ] && [ \"$status\" -ne 0 ]; then\n"
      "  echo \"[spare] spare run stopped (status $status): requeued\"\n"
      "  scontrol requeue \"${{SLURM_JOB_ID}}\"\n"
      "  exit 0\n"
      "fi\n"
      "echo \"$status\" > \"$exit_file.tmp\" && mv \"$exit_file.tmp\" \"$exit_file\"\n"
      "exit \"$status\"\n",
      fmt::arg("base", shell_quoted(o.output.string())), fmt::arg("task_dir", task_dir),
      fmt::arg("spare", shell_quoted(o.spare.string())));
  return s;
}

}  // namespace spare::launcher

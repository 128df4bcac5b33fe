"""Killing, stopping and damaging real runs: whatever happens, running the same
command again finishes with the result of a run that nothing disturbed."""

import os
import re
import signal
import unittest

from spare_testing import (SpareTestCase, command_name, complete_checkpoints, descendants,
                           failing_reads_of, flip_byte, kill_tree, result_digest, write_job)

# Long enough to be interrupted several times on two busy cores.
LONG = {"job": {"steps": "3000"}, "checkpoint": {"interval_steps": "200", "keep": "2"},
        "heat2d": {"nx": "512", "ny": "512"}}


class Recovery(SpareTestCase):
    def reference(self, job, *extra):
        out = self.tmp / "reference"
        self.spare("run", job, "--output", out, *extra)
        return result_digest(out)

    def test_kill_9_everything_and_resume(self):
        job = write_job(self.tmp / "job.ini", **LONG)
        out = self.tmp / "out"
        last = 0
        for cycle in range(3):
            run = self.start("run", job, "--output", out)
            self.wait_for(lambda: complete_checkpoints(out) and complete_checkpoints(out)[-1] > last,
                          f"a checkpoint beyond step {last}", process=run)
            kill_tree(run)  # spare, mpirun and every rank at the same instant
            last = complete_checkpoints(out)[-1]
        finish = self.spare("run", job, "--output", out)
        self.assertIn(f"resumed from the checkpoint at step {last}", finish.stderr)
        self.assertEqual(result_digest(out), self.reference(job))

    def test_kill_9_one_rank_fails_the_run_and_resume_completes(self):
        job = write_job(self.tmp / "job.ini", **LONG)
        out = self.tmp / "out"
        run = self.start("run", job, "--output", out)
        self.wait_for(lambda: complete_checkpoints(out), "the first checkpoint", process=run)
        workers = [p for p in descendants(run.pid) if command_name(p) == "spare-worker"]
        self.assertEqual(len(workers), 2)
        os.kill(workers[-1], signal.SIGKILL)
        self.assertEqual(run.wait(timeout=60), 5)
        run.log.seek(0)
        self.assertRegex(run.log.read(), r"the job failed: .*latest checkpoint is at step \d+")
        self.spare("run", job, "--output", out)
        self.assertEqual(result_digest(out), self.reference(job))

    def test_sigterm_and_sigint_stop_after_a_checkpoint(self):
        job = write_job(self.tmp / "job.ini", **LONG)
        out = self.tmp / "out"
        for signal_number, code in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
            run = self.start("run", job, "--output", out)
            before = complete_checkpoints(out)
            self.wait_for(lambda: complete_checkpoints(out) != before, "a checkpoint",
                          process=run)
            run.send_signal(signal_number)
            self.assertEqual(run.wait(timeout=60), code)
            run.log.seek(0)
            log = run.log.read()
            stopped = int(re.search(r"stopped at step (\d+)", log).group(1))
            self.assertEqual(complete_checkpoints(out)[-1], stopped, log)  # no step lost
        finish = self.spare("run", job, "--output", out)
        self.assertIn(f"resumed from the checkpoint at step {stopped}", finish.stderr)
        self.assertEqual(result_digest(out), self.reference(job))

    def test_flipped_bit_is_detected_and_the_previous_checkpoint_used(self):
        job = write_job(self.tmp / "job.ini", job={"steps": "200"},
                        checkpoint={"interval_steps": "50", "keep": "3"})
        out = self.tmp / "out"
        self.spare("run", job, "--output", out)
        self.assertEqual(complete_checkpoints(out), [100, 150, 200])
        flip_byte(out / "checkpoints" / "step-000000000200" / "shard-00001.h5", "temperature")
        verify = self.spare("ckpt", "verify", out, expect=4)
        self.assertIn("step-000000000200: CORRUPT", verify.stdout)
        self.assertIn("shard shard-00001.h5 dataset 'temperature': digest mismatch", verify.stdout)
        self.assertIn("step-000000000150: OK", verify.stdout)
        run = self.spare("run", job, "--set", "job.steps=300", "--output", out)
        self.assertIn("warning: checkpoint step-000000000200 is unusable", run.stderr)
        self.assertIn("resumed from the checkpoint at step 150", run.stderr)
        self.assertTrue((out / "checkpoints" / "step-000000000200.corrupt").is_dir())
        self.assertEqual(result_digest(out), self.reference(job, "--set", "job.steps=300"))

    def test_a_read_error_fails_the_run_and_every_checkpoint_is_kept(self):
        job = write_job(self.tmp / "job.ini", job={"steps": "200"},
                        checkpoint={"interval_steps": "50", "keep": "3"})
        out = self.tmp / "out"
        self.spare("run", job, "--output", out)
        self.assertEqual(complete_checkpoints(out), [100, 150, 200])
        checkpoints = out / "checkpoints"
        before = sorted(p.name for p in checkpoints.iterdir())
        victim = checkpoints / "step-000000000200" / "shard-00001.h5"
        # The disk fails to read one shard of the newest checkpoint: not its fault.
        failed = self.spare("run", job, "--set", "job.steps=300", "--output", out, expect=4,
                            env=failing_reads_of(victim))
        said = failed.stdout + failed.stderr
        self.assertIn("checkpoint step-000000000200 could not be read", said)
        self.assertIn(str(victim.resolve()), said)
        self.assertIn("Input/output error", said)
        self.assertNotIn("unusable", said)
        self.assertEqual(sorted(p.name for p in checkpoints.iterdir()), before)
        self.assertEqual(complete_checkpoints(out), [100, 150, 200])
        # `spare ckpt verify` says so too: unreadable, not corrupt.
        verify = self.spare("ckpt", "verify", out, expect=4, env=failing_reads_of(victim))
        self.assertIn("step-000000000200: UNREADABLE (not known to be damaged): ", verify.stdout)
        self.assertIn("step-000000000150: OK", verify.stdout)
        # Once it reads again, the run resumes from it, as if nothing had happened.
        run = self.spare("run", job, "--set", "job.steps=300", "--output", out)
        self.assertIn("resumed from the checkpoint at step 200", run.stderr)
        self.assertEqual(result_digest(out), self.reference(job, "--set", "job.steps=300"))

    def test_truncated_and_missing_shards_are_named(self):
        job = write_job(self.tmp / "job.ini", checkpoint={"interval_steps": "50", "keep": "2"})
        out = self.tmp / "out"
        self.spare("run", job, "--output", out)
        newest = out / "checkpoints" / "step-000000000100"
        shard = newest / "shard-00000.h5"
        os.truncate(shard, shard.stat().st_size - 1000)
        verify = self.spare("ckpt", "verify", newest, expect=4)
        self.assertIn("shard shard-00000.h5 has", verify.stdout)
        self.assertIn("(truncated or replaced)", verify.stdout)
        shard.unlink()
        verify = self.spare("ckpt", "verify", out, expect=4)
        self.assertIn("shard shard-00000.h5 is missing", verify.stdout)
        (out / "checkpoints" / "step-000000000050" / "MANIFEST.json").unlink()
        verify = self.spare("ckpt", "verify", out, expect=4)
        self.assertIn("step-000000000050: INCOMPLETE", verify.stdout)

    def test_another_jobs_checkpoints_are_never_resumed(self):
        job = write_job(self.tmp / "job.ini", checkpoint={"interval_steps": "50"})
        out = self.tmp / "out"
        self.spare("run", job, "--output", out)
        other = self.spare("run", job, "--set", "heat2d.nx=72", "--output", out, expect=4)
        self.assertIn("holds checkpoints of another job: [heat2d] nx is 96 there and 72 here",
                      other.stderr)
        self.assertIn("--fresh", other.stderr)
        self.assertEqual(complete_checkpoints(out), [50, 100])  # nothing was touched
        self.spare("run", job, "--set", "heat2d.nx=72", "--output", out, "--fresh")
        self.assertEqual(complete_checkpoints(out), [50, 100])
        fewer = self.spare("run", job, "--set", "heat2d.nx=72", "--set", "job.steps=60",
                           "--output", out, expect=3)
        self.assertIn("beyond [job] steps = 60", fewer.stderr)

    def test_running_a_finished_job_again_rewrites_the_same_result(self):
        job = write_job(self.tmp / "job.ini")
        out = self.tmp / "out"
        self.spare("run", job, "--output", out)
        first = result_digest(out)
        (out / "result.h5").unlink()
        again = self.spare("run", job, "--output", out)
        self.assertIn("resumed from the checkpoint at step 100", again.stderr)
        self.assertEqual(result_digest(out), first)


if __name__ == "__main__":
    unittest.main()

"""Moves onto and off a volunteer pool (a real `spare pool`, and a real `spare
volunteer` on loopback where a job runs): a job stopped on the pool at a checkpoint
the pool exports resumes here with the bits of `spare run`; and the pool's move
routes refuse what they must (another scientist's job, a volunteer's token, a
checkpoint of another job, a step it does not await, an oversized shard).
The move from here to Slurm to a pool is in test_slurm_backend.py."""

import json
import re
import sys
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "cluster"))

from backend_test_case import BackendTestCase  # noqa: E402
from pool_test_case import https_request  # noqa: E402


class PoolMoves(BackendTestCase):
    def setUp(self):
        super().setUp()
        with open(self.backends, "a") as f:
            f.write(self.start_pool_with_a_volunteer())

    def pool_started(self, handle):
        return re.search(r"started at step \d+ on \d+ ranks", self.pool_log(handle))

    def test_a_job_moved_off_a_pool_has_the_bits_of_spare_run(self):
        job = self.long_job_file()
        on_pool = self.submit(job, "lab")
        self.wait_for(lambda: self.pool_started(on_pool), "the pool's group to start")
        time.sleep(1.0)  # mid-run: two ranks step the job in over LONG_SECONDS / 2
        here = self.spare("move", on_pool, "--to", "laptop").stdout.strip()
        self.assertRegex(here, r"^laptop:\d+$")
        stopped = self.status(on_pool)
        self.assertEqual(stopped["state"], "stopped", stopped)
        self.assertEqual(stopped["moved_to"], here)
        pool_log = self.pool_log(on_pool)
        left = int(re.search(r"stopped at its checkpoint at step (\d+)", pool_log).group(1))
        self.assertTrue(0 < left < self.long_steps, pool_log)
        self.assertIn(f"moved to {here} from its checkpoint {'step-%012d' % left}", pool_log)
        status = self.wait_for_state(here, ("done", "failed", "cancelled"), timeout=180)
        log = self.log_of(here)
        self.assertEqual(status["state"], "done", log)
        self.assertIn(f"resumed from the checkpoint at step {left} of", log)
        self.assertEqual(self.fetched_digest(here), self.reference_digest(job))
        # A job moves once: its new handle is the one to move next.
        again = self.spare("move", on_pool, "--to", "laptop", expect=5)
        self.assertIn(f"{on_pool} moved to {here} already", again.stderr)




class PoolMoveRefusals(BackendTestCase):
    STEP = "step-000000000500"

    def setUp(self):
        super().setUp()
        with open(self.backends, "a") as f:
            f.write(self.start_empty_pool())
        state = self.tmp / "pool-state"
        self.mallory = self.spare("pool", "token", "add", "mallory", "--role", "scientist",
                                  "--state", state).stdout.strip()
        self.lender = self.spare("pool", "token", "add", "lender", "--role", "volunteer",
                                 "--state", state).stdout.strip()

    def ask(self, method, path, token=None, **kwargs):
        return https_request(self.pool_url, method, "/api/v1" + path,
                             token or self.pool_token, **kwargs)

    def checkpoint_of(self, job_file, name):
        """A real checkpoint at step 500 of the job, made here by `spare run`."""
        out = self.tmp / name
        self.spare("run", job_file, "--output", out, "--fresh")
        return out / "checkpoints" / self.STEP

    def moved_job(self, job_file, resume_step=500):
        return self.ask("POST", "/jobs", body={"ini": Path(job_file).read_text(),
                                                "source": "job.ini",
                                                "resume_step": resume_step})

    def upload(self, job, file, data, token=None, step=None):
        return self.ask("PUT", f"/jobs/{job}/import/{step or self.STEP}/{file}", token,
                        data=data, headers={"Content-Type": "application/octet-stream"})

    def test_the_move_routes_refuse_what_they_must(self):
        job = self.job_file()
        genuine = self.checkpoint_of(job, "genuine")
        other = self.checkpoint_of(self.job_file("other.ini", heat2d={"amplitude": "3.0"}),
                                   "other")

        status, reply = self.moved_job(job, resume_step=700)
        self.assertEqual(status, 422, reply)
        self.assertIn("cannot resume from a checkpoint at step 700", reply["error"])

        status, reply = self.moved_job(job)
        self.assertEqual(status, 201, reply)
        first = reply["job"]
        self.assertEqual(self.ask("GET", f"/jobs/{first}")[1]["state"], "importing")
        manifest = (genuine / "MANIFEST.json").read_bytes()
        # Another scientist's job does not exist for mallory; a volunteer's token is no
        # scientist's; a step the job does not await is refused before a byte is read.
        self.assertEqual(self.upload(first, "MANIFEST.json", manifest, self.mallory)[0], 404)
        self.assertEqual(self.ask("POST", f"/jobs/{first}/stop", self.mallory, body={})[0], 404)
        self.assertEqual(self.ask("GET", f"/jobs/{first}/export", self.mallory)[0], 404)
        self.assertEqual(self.upload(first, "MANIFEST.json", manifest, self.lender)[0], 403)
        status, reply = self.upload(first, "MANIFEST.json", manifest,
                                    step="step-000000000400")
        self.assertEqual(status, 409, reply)
        self.assertIn("awaits step 500", reply["error"])
        # Nothing to export or stop while its checkpoint arrives.
        self.assertEqual(self.ask("GET", f"/jobs/{first}/export")[0], 409)
        self.assertEqual(self.ask("POST", f"/jobs/{first}/stop", body={})[0], 409)
        # A shard far beyond the job's state is refused unread.
        self.assertEqual(self.upload(first, "shard-00000.h5", bytes(3 << 20))[0], 413)
        # Another job's checkpoint: the job fails, saying why.
        self.assertEqual(self.upload(first, "MANIFEST.json",
                                     (other / "MANIFEST.json").read_bytes())[0], 200)
        failed = self.ask("GET", f"/jobs/{first}")[1]
        self.assertEqual(failed["state"], "failed", failed)
        self.assertIn("was refused", failed["message"])

        # The genuine checkpoint: queued from it, then stopped at once (no volunteer),
        # and exported byte for byte.
        status, reply = self.moved_job(job)
        second = reply["job"]
        self.assertEqual(self.upload(second, "MANIFEST.json", manifest)[0], 200)
        shards = sorted(p.name for p in genuine.glob("shard-*.h5"))
        for shard in shards:
            self.assertEqual(self.upload(second, shard, (genuine / shard).read_bytes())[0], 200)
        queued = self.ask("GET", f"/jobs/{second}")[1]
        self.assertEqual((queued["state"], queued["checkpoint"]), ("queued", 500), queued)
        self.assertEqual(self.ask("POST", f"/jobs/{second}/stop", body={})[1]["state"],
                         "stopped")
        status, exported = self.ask("GET", f"/jobs/{second}/export")
        self.assertEqual(status, 200, exported)
        self.assertEqual(exported["step"], 500)
        self.assertEqual(exported["files"], ["MANIFEST.json"] + shards)
        self.assertEqual(self.ask("GET", f"/jobs/{second}/export/MANIFEST.json")[1],
                         json.loads(manifest))
        self.assertEqual(self.ask("GET", f"/jobs/{second}/export/../../inputs")[0], 404)


if __name__ == "__main__":
    unittest.main()

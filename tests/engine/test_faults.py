"""Faults while training: SIGKILL at drawn moments (one mid-checkpoint-write), SIGINT."""

import glob
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np

from dypose.engine import checkpoint as ckpt

# Seconds: a child must have made progress within this time (loaded two-core machine).
WAIT_S = 180
POLL_S = 0.05
# The kill moments are drawn from this seed (seconds after training visibly started).
KILL_SEED = 6
END_EPOCH = 6
BATCH = 8


def _start(repo_root, cfg_file, env, **delays):
    env = dict(env)
    env.update({f"DYPOSE_TEST_{k.upper()}": str(v) for k, v in delays.items()})
    script = str(repo_root / "tests" / "engine" / "train_hooks.py")
    return subprocess.Popen(
        [sys.executable, script, "--cfg", cfg_file],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(condition, proc, what: str) -> None:
    deadline = time.time() + WAIT_S
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"child ended before {what}: {proc.stdout.read()[-3000:]}")
        if time.time() > deadline:
            proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(POLL_S)


def _train_lines(out):
    path = out / "metrics.jsonl"
    if not path.is_file():
        return []
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


def _checkpoint_epoch(out):
    """The epoch in checkpoint.pth (which must always load), or 0 without one."""
    path = out / ckpt.CHECKPOINT_NAME
    if not path.exists():
        return 0
    return ckpt.load_checkpoint(str(path))["epoch"]


def test_sigkill_at_three_moments_then_auto_resume(
    tmp_path, write_cfg, repo_root, child_env, person_counts
):
    cfg_file = write_cfg(
        tmp_path / "kill.yaml",
        tmp_path,
        TRAIN__END_EPOCH=END_EPOCH,
        TRAIN__EVAL_INTERVAL=0,
        TRAIN__BATCH_SIZE_PER_GPU=BATCH,
    )
    iters_per_epoch = math.ceil(person_counts["train_synth"] / BATCH)
    out = tmp_path / "synthetic" / "kill"
    rng = np.random.default_rng(KILL_SEED)
    moments = ["iteration", "checkpoint_write", "iteration"]
    epochs = []
    for moment in moments:
        before = _checkpoint_epoch(out)
        if moment == "checkpoint_write":
            proc = _start(repo_root, cfg_file, child_env, step_delay=0.2, save_delay=2.0)
            pattern = str(out / f".{ckpt.CHECKPOINT_NAME}.*.tmp")
            _wait_for(lambda p=pattern: glob.glob(p), proc, "a checkpoint write")
            time.sleep(rng.uniform(0.0, 1.5))  # still inside the 2 s slowed write
        else:
            # A drawn iteration of the next three, then a drawn fraction of its step.
            target = before * iters_per_epoch + int(rng.integers(1, 4))
            start = len(_train_lines(out))

            def reached(s=start, t=target):
                return any(r.get("global_iter", -1) >= t for r in _train_lines(out)[s:])

            proc = _start(repo_root, cfg_file, child_env, step_delay=0.2)
            _wait_for(reached, proc, f"iteration {target}")
            time.sleep(rng.uniform(0.0, 0.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=WAIT_S)
        assert proc.returncode == -signal.SIGKILL
        after = _checkpoint_epoch(out)  # loads, whatever the moment
        assert before <= after < END_EPOCH, (moment, before, after)
        if moment == "checkpoint_write":
            assert after == before  # the interrupted write left the previous file
        epochs.append(after)

    proc = _start(repo_root, cfg_file, child_env)
    log, _ = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 0, log[-3000:]
    if epochs[-1] > 0:
        assert f"next epoch {epochs[-1]}" in log
    assert _checkpoint_epoch(out) == END_EPOCH
    assert not glob.glob(str(out / ".*.tmp"))
    assert (out / ckpt.FINAL_NAME).is_file()


def test_sigint_stops_cleanly_and_keeps_checkpoint(tmp_path, write_cfg, repo_root, child_env):
    cfg_file = write_cfg(tmp_path / "int.yaml", tmp_path, TRAIN__END_EPOCH=3)
    out = tmp_path / "synthetic" / "int"
    proc = _start(repo_root, cfg_file, child_env, step_delay=1.0)
    in_epoch_1 = lambda: any(r.get("epoch") == 1 for r in _train_lines(out))  # noqa: E731
    _wait_for(in_epoch_1, proc, "epoch 1")
    digest = hashlib.sha256((out / ckpt.CHECKPOINT_NAME).read_bytes()).hexdigest()
    mtime = os.stat(out / ckpt.CHECKPOINT_NAME).st_mtime_ns

    proc.send_signal(signal.SIGINT)
    log, _ = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 130, log[-3000:]
    assert "interrupted (SIGINT) during epoch 1; nothing more written" in log
    assert "Traceback" not in log
    assert hashlib.sha256((out / ckpt.CHECKPOINT_NAME).read_bytes()).hexdigest() == digest
    assert os.stat(out / ckpt.CHECKPOINT_NAME).st_mtime_ns == mtime
    assert ckpt.load_checkpoint(str(out / ckpt.CHECKPOINT_NAME))["epoch"] == 1
    assert not (out / ckpt.FINAL_NAME).exists()
    assert not glob.glob(str(out / ".*.tmp"))

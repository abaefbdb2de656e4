"""Two processes with the gloo backend on the CPU, started by torchrun."""

import socket
import subprocess
import sys

import numpy as np
import torch

# Generous: two fresh Python processes importing torch on a loaded two-core machine.
TIMEOUT_S = 240


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_ranks_agree_and_evaluate_every_record_once(
    tmp_path, write_cfg, repo_root, child_env, person_counts
):
    # The validation set has an odd person count (see conftest), so DistributedSampler
    # pads rank 1 with a repeated record that the gathering must drop.
    num_records = person_counts["val_synth"]
    assert num_records % 2 == 1
    cfg_file = write_cfg(
        tmp_path / "ddp.yaml", tmp_path, TRAIN__BATCH_SIZE_PER_GPU=3, TRAIN__EVAL_INTERVAL=0
    )
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
        str(repo_root / "tests" / "engine" / "ddp_worker.py"), cfg_file, str(tmp_path),
    ]  # fmt: skip
    done = subprocess.run(command, env=child_env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    rank0 = torch.load(tmp_path / "rank0.pth")
    rank1 = torch.load(tmp_path / "rank1.pth")
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
    # Only rank 0 saved, and it trained: the weights differ from the initial ones.
    final = torch.load(tmp_path / "synthetic" / "ddp" / "final_state.pth")
    assert all(torch.equal(final[k], rank0[k]) for k in final)
    evaluated = np.load(tmp_path / "evaluated_indices.npy")
    np.testing.assert_array_equal(evaluated, [np.arange(num_records)])

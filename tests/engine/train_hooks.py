"""Runs tools/train.py with test hooks; used by the engine tests as a child process.

    python tests/engine/train_hooks.py --cfg FILE [KEY VALUE ...]

Environment hooks (seconds): DYPOSE_TEST_STEP_DELAY sleeps after every training
iteration; DYPOSE_TEST_SAVE_DELAY sleeps after torch.save has written a file and before
it is renamed into place, so that a test can kill the process mid-checkpoint-write.
"""

import os
import runpy
import sys
import time

import torch

from dypose.engine import trainer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _install_hooks() -> None:
    step_delay = float(os.environ.get("DYPOSE_TEST_STEP_DELAY", "0"))
    save_delay = float(os.environ.get("DYPOSE_TEST_SAVE_DELAY", "0"))
    if step_delay:
        original_step = trainer.Trainer._step

        def slow_step(self, *args, **kwargs):
            result = original_step(self, *args, **kwargs)
            time.sleep(step_delay)
            return result

        trainer.Trainer._step = slow_step
    if save_delay:
        original_save = torch.save

        def slow_save(obj, path, *args, **kwargs):
            original_save(obj, path, *args, **kwargs)
            time.sleep(save_delay)

        torch.save = slow_save


if __name__ == "__main__":
    _install_hooks()
    sys.argv = [os.path.join(ROOT, "tools", "train.py")] + sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")

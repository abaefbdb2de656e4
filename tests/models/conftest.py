"""Model tests run single-threaded: tiny tensors gain nothing from intra-op threads, and on a
shared or small machine thread wake-ups dominate their run time."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)

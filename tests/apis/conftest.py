"""One intra-op thread for these small models: on a busy 2-core machine torch's default
thread pool spins against other processes and a 10 ms forward can take seconds."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)

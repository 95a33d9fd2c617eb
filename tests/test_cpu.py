"""``configure_cpu``, called first as every command does: subnormal floats flushed to zero on
every torch thread, not only the main one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import REPO

# Entries of a * b are sums of products 1e-20 * 1e-20 = 1e-40, a subnormal float32: flushed, every
# product is 0; not flushed, each entry is 1024e-40 ~ 1e-37, a normal float. MKL splits the rows of
# a 1024 x 1024 product between the threads, so a thread that does not flush leaves its rows nonzero.
PROBE = """
import sys
import torch
from src.utils.cpu import configure_cpu

configure_cpu({"threads": 2, "flush_denormal": sys.argv[1] == "true"})
a = torch.full((1024, 1024), 1e-20)
product = a @ a
print(torch.get_num_threads(), int((product != 0).sum()))
"""


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores to have a second thread")
@pytest.mark.parametrize("flush", ["true", "false"])
def test_every_thread_flushes_subnormals_to_zero(flush):
    run = subprocess.run(
        [sys.executable, "-c", PROBE, flush], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )
    threads, nonzero = map(int, run.stdout.split())
    assert threads == 2
    assert (nonzero == 0) if flush == "true" else (nonzero == 1024 * 1024)

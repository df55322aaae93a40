"""The tests run TensorFlow with the harness's CPU allocator (BFC), as every run of the harness
does, so in-process runs read the same probes as the sweep's.

`make test` runs two xdist workers on two cores, and many tests start processes of their own:
each TensorFlow process gets one intra-op thread (inherited by the processes it starts), so the
workers do not oversubscribe the cores with spinning thread pools. Timings are never asserted
in tests, so this changes speed only.
"""
import os

from bench.runtime import configure_allocator

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
configure_allocator()

"""The tests run TensorFlow with the harness's CPU allocator (BFC), as every run of the harness
does, so in-process runs read the same probes as the sweep's."""
from bench.runtime import configure_allocator

configure_allocator()


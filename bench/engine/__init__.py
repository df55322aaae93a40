"""The training layer: everything that imports TensorFlow and Keras (at module top). The
controller reaches it through process boundaries (the fork server, `bench.engine.worker`) or
through `bench.engine.entry`, never module by module.

TensorFlow is imported here first, quietly: every module below imports it again for free.
"""
from bench.process import import_tensorflow_quietly

import_tensorflow_quietly()

"""accumbench: is gradient accumulation equivalent to large-batch training, and what does it cost?

Three floors (README, Layout): the foundation (config, data, results, judge, execute) and the
control layer (sweep, report, commands) never import TensorFlow; the training layer,
`bench.engine`, does, and is reached by process or through `bench.engine.entry`. Importing this
package does not import TensorFlow.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # CPU-only machines log a cuInit error

"""accumbench: is gradient accumulation equivalent to large-batch training, and what does it cost?

Layout follows the pipeline: data -> (models/) -> training strategies -> measured run -> results
-> report. Importing this package does not import TensorFlow.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # CPU-only machines log a cuInit error

"""Keras 3 code that runs on every backend: it imports Keras, never TensorFlow, so the
TensorFlow training layer (`bench.engine`) and the backend lane (`bench.backends`, JAX and
PyTorch) share it: the losses, the comparable mode of levels 1-2, the recording of what an
optimizer applies."""

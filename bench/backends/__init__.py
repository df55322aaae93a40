"""The backend lane: the same question on Keras 3's other backends (JAX, PyTorch), in processes
of their own with `KERAS_BACKEND` set and TensorFlow's import blocked (`block`).

The lane shares with the TensorFlow analysis what is framework-free (`bench.data.windows`: the
same data order; `bench.judge`: the same levels, floors and reasons) and what is plain Keras 3
(`bench.portable`: losses, comparable mode, the recording of what an optimizer applies); it has
its own training loops (`train`, in keras.ops over a kit's gradient and apply) and one kit per
backend (`jax_kit`, `torch_kit`: registered in `bench.config.names.BACKENDS`). Control starts it
through `bench.execute.lane`; `python -m bench.backends` is its process.
"""

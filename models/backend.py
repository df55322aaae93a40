"""The Keras the shared builders build with: Keras 3, or `tf_keras` in a process of the Keras 2
lane (`TF_USE_LEGACY_KERAS=1`, `bench.engine.equivalence.keras2`). Only what both have is used
through it (layers, Input, Model); a builder that needs Keras 3 alone (`keras.ops`) imports
Keras itself and is not offered in the lane."""
from __future__ import annotations

import os

if os.environ.get("TF_USE_LEGACY_KERAS", "").lower() in ("1", "true"):
    import tf_keras as keras  # the Keras 2 lane
else:
    import keras

layers = keras.layers

__all__ = ["keras", "layers"]

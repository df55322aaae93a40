"""Model builders: config in, `keras.Model` out. No data loading, no measurement.

`models.registry` names each built-in model's builder, presets, data and recipe without
importing Keras (builders are imported when a model is built); `models.configs` holds the
configurations and presets, `models.specs` the input specs (neither imports Keras).
"""

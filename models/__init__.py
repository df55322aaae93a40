"""Model builders: config in, `keras.Model` out. No data loading, no measurement.

`models.registry` (imports Keras) holds the builders; `models.specs` (no Keras) the input specs.
"""

"""Model builders: config in, `keras.Model` out. No data loading, no measurement.

`models.registry` (imports Keras) holds the builders; `models.specs` (no Keras) the input specs.
"""

#: The built-in models' names, for validating input without importing Keras (the registry
#: checks it holds exactly these).
MODEL_NAMES = ("cnn", "cnn_bn", "mlp_mixer", "fnet", "gmlp", "grn_vsn")

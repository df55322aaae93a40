"""Every model builds and trains one step on its data sets' shapes; parameter counts by hand;
outputs match the losses; the two categorical lookups agree."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from bench.data.registry import DATASETS
from bench.portable.objective import output_width, summed_loss
from models.lookup import make_lookup
from models.registry import MODELS, get_model
from models.specs import ImageSpec

IMAGE_SHAPES = sorted({(e.shape, e.num_classes) for e in DATASETS.values() if e.kind == "image"})


def conv(k, cin, cout):
    return k * k * cin * cout + cout


def dense(n_in, n_out):
    return n_in * n_out + n_out


def test_cnn_parameter_count_by_hand():
    # 28x28x1 -conv3-> 26x26x32 -pool-> 13x13 -conv3-> 11x11x64 -pool-> 5x5 -conv3-> 3x3x64
    expected = (conv(3, 1, 32) + conv(3, 32, 64) + conv(3, 64, 64)
                + dense(3 * 3 * 64, 64) + dense(64, 10))
    assert expected == 93_322
    model = get_model("cnn").build(ImageSpec((28, 28, 1), 10))
    assert model.count_params() == expected
    bn = get_model("cnn_bn").build(ImageSpec((28, 28, 1), 10))
    assert sum(int(np.prod(v.shape)) for v in bn.trainable_variables) == expected + 2 * 32
    assert bn.count_params() == expected + 4 * 32  # + moving mean and variance
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in bn.layers)


def test_cnn_on_cifar_shape_by_hand():
    # 32 -> 30 -> 15 -> 13 -> 6 -> 4: flatten 4*4*64
    expected = conv(3, 3, 32) + conv(3, 32, 64) + conv(3, 64, 64) + dense(4 * 4 * 64, 64) + dense(64, 100)
    assert get_model("cnn").build(ImageSpec((32, 32, 3), 100)).count_params() == expected


def _step(model, x, y, output):
    with tf.GradientTape() as tape:
        pred = model(x, training=True)
        loss = summed_loss(output, output_width(model))(y, pred)
    grads = tape.gradient(loss, model.trainable_variables)
    return pred, loss, grads


@pytest.mark.parametrize("name", [n for n, m in MODELS.items() if m.data_kind == "image"])
@pytest.mark.parametrize("shape,classes", IMAGE_SHAPES)
def test_image_models_forward_and_backward(name, shape, classes):
    entry = get_model(name)
    model = entry.build(ImageSpec(shape, classes, (0.5,) * shape[-1], (0.1,) * shape[-1]), "small")
    x = np.random.default_rng(0).random((3, *shape), dtype=np.float32)
    y = np.array([0, 1, classes - 1])
    pred, loss, grads = _step(model, x, y, entry.output)
    assert pred.shape == (3, classes) and np.isfinite(float(loss))
    assert all(g is not None and np.isfinite(np.asarray(tf.convert_to_tensor(g))).all() for g in grads)
    # logits, not probabilities (the seed's softmax + from_logits=True mistake is not repeated)
    assert not np.allclose(np.asarray(pred).sum(-1), 1.0, atol=1e-3)


@pytest.mark.parametrize("name", ["mlp_mixer", "fnet", "gmlp"])
def test_patch_models_seed_preset_matches_the_seed(name):
    config = get_model(name).config("seed")
    assert (config.image_size, config.patch_size, config.embedding_dim, config.num_blocks,
            config.dropout_rate) == (64, 8, 256, 4, 0.2)
    model = get_model(name).build(ImageSpec((32, 32, 3), 100, (0.5,) * 3, (0.1,) * 3))
    names = [type(layer).__name__ for layer in model._flatten_layers(include_self=False)]
    for expected in ("Normalization", "Resizing", "RandomFlip", "RandomZoom", "Patches"):
        assert expected in names
    assert ("PositionEmbedding" in names) == (name == "fnet")


def test_grn_vsn_forward_backward_and_sigmoid_output():
    entry = get_model("grn_vsn")
    spec = DATASETS["census_income"].listing_spec()
    model = entry.build(spec, "small")
    rng = np.random.default_rng(0)
    x = {c: rng.random(4).astype("float32") for c in spec.numeric}
    x.update({c: np.array([v[0], v[-1], "never seen", v[0]], dtype=object)
              for c, v in spec.categorical.items()})
    y = np.array([0.0, 1.0, 1.0, 0.0], np.float32)
    pred, loss, grads = _step(model, x, y, entry.output)
    p = np.asarray(pred)
    assert p.shape == (4, 1) and ((p > 0) & (p < 1)).all()  # a probability, paired with BCE
    assert all(g is not None for g in grads)


def test_grouped_grns_keep_one_weight_set_per_feature():
    """The per-feature GRNs are batched, but each feature has its own weights, initialised
    with the per-feature Glorot limit sqrt(6 / (in + units))."""
    spec = DATASETS["census_income"].listing_spec()
    model = get_model("grn_vsn").build(spec, "seed")
    vsn = next(layer for layer in model.layers if type(layer).__name__ == "VariableSelection")
    kernel = np.asarray(vsn.feature_grns.elu_dense.kernel)
    features = len(spec.numeric) + len(spec.categorical)
    assert kernel.shape == (features, 16, 16)
    limit = np.sqrt(6 / (16 + 16))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    assert not np.allclose(kernel[0], kernel[1])


def test_lookups_agree_on_vocabulary_and_unknown_values():
    vocab = ["Female", "Male", "?", "NA"]
    values = tf.constant(["Male", "?", "unknown", "", "NA", "Female", "male"])
    a = make_lookup("string_lookup", vocab, "a")(values)
    b = make_lookup("static_hash_table", vocab, "b")(values)
    assert np.asarray(a).tolist() == np.asarray(b).tolist() == [2, 3, 0, 0, 4, 1, 0]


def test_registry_names_and_presets():
    assert set(MODELS) == {"cnn", "cnn_bn", "mlp_mixer", "fnet", "gmlp", "grn_vsn", "char_lm"}
    with pytest.raises(KeyError, match="unknown model"):
        get_model("resnet")
    with pytest.raises(KeyError, match="no preset"):
        get_model("cnn").config("huge")
    for entry in MODELS.values():
        assert entry.default_preset == "seed" and {"seed", "small"} <= set(entry.presets)

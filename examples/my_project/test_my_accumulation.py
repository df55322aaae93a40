"""A user's own tests: the `accumbench` fixture comes with `pip install accumbench`.

The correct accumulation code passes; each buggy version fails, and the failure names its bug
(here checked with pytest.raises, so that this demonstration passes as a whole)."""
import pytest

SETTINGS = dict(model="my_models:build", data="my_data:arrays", effective_batch=32, micro=8,
                updates=4)


@pytest.mark.parametrize("strategy", ["my_strategies:train_step_model",
                                      "my_strategies:custom_loop"])
def test_correct_accumulation_is_equivalent(accumbench, strategy):
    accumbench.assert_equivalent(strategy=strategy, **SETTINGS)


@pytest.mark.parametrize("strategy,reason", [
    ("my_strategies:summed", "summed, not averaged"),
    ("my_strategies:last_micro_batch", "last micro-batch alone"),
    ("my_strategies:never_reset", "not reset between updates"),
    ("my_strategies:steps_every_micro_batch", "the optimizer stepped"),
    ("my_strategies:reports_last_loss", "not the window's mean loss"),
    ("my_strategies:divides_twice", "1/4 of the large batch's mean"),
    ("my_strategies:one_window_late", "first update applied a zero gradient.*one update late"),
    ("my_strategies:clips_when_accumulating", "clipped"),
])
def test_each_bug_is_named(accumbench, strategy, reason):
    with pytest.raises(AssertionError, match=reason):
        accumbench.assert_equivalent(strategy=strategy, **SETTINGS)


TOKENS = dict(model="my_models:sequence_model", data="my_text:tokens", effective_batch=16,
              micro=4, updates=3)


def test_token_accumulation_is_equivalent_on_a_masked_sequence_model(accumbench):
    accumbench.assert_equivalent(strategy="my_strategies:token_loop", **TOKENS)


def test_the_mean_of_micro_batch_means_is_named_on_token_data(accumbench):
    with pytest.raises(AssertionError, match="mean of micro-batch means"):
        accumbench.assert_equivalent(strategy="my_strategies:custom_loop", **TOKENS)


def test_an_ema_updated_on_every_micro_batch_is_named(accumbench):
    accumbench.assert_equivalent(strategy="my_strategies:custom_loop", ema=0.9, **SETTINGS)
    with pytest.raises(AssertionError, match="EMA of the weights is updated on every micro-batch"):
        accumbench.assert_equivalent(strategy="my_strategies:builtin_accumulation", ema=0.9,
                                     **SETTINGS)


def test_a_loss_scale_skip_that_stretches_a_window_is_named(accumbench):
    """mixed_float16: one micro-batch made non-finite; Keras' LossScaleOptimizer skips it alone."""
    with pytest.raises(AssertionError, match="skipped that micro-batch only"):
        accumbench.assert_equivalent(strategy="my_strategies:builtin_accumulation",
                                     dtype="mixed_float16", **SETTINGS)


def test_a_partial_window_at_the_end_of_an_epoch(accumbench):
    """The correct loop applies it as the large batch applies its last, smaller batch."""
    accumbench.assert_equivalent(strategy="my_strategies:custom_loop", partial_window=True,
                                 **SETTINGS)
    with pytest.raises(AssertionError, match="applied with the wrong weight.*= 2/4"):
        accumbench.assert_equivalent(strategy="my_strategies:divides_by_k", partial_window=True,
                                     **SETTINGS)


def test_a_schedule_stepped_per_micro_batch_shows_with_a_decaying_rate(accumbench):
    with pytest.raises(AssertionError, match="schedule advanced per micro-batch"):
        accumbench.assert_equivalent(strategy="my_strategies:steps_schedule_per_micro_batch",
                                     lr_schedule="exponential", **SETTINGS)

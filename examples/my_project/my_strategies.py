"""Accumulation code as it is written in the wild: two correct versions and one for each
common bug. Each factory is called as factory(model=, optimizer=, loss=, accum_steps=) and
returns a keras.Model (trained with fit at the micro-batch size) or update(micro_batches)."""
import keras
import tensorflow as tf


# -- shape (a): a keras.Model whose train_step accumulates -----------------------------------------
class AccumulatingModel(keras.Model):
    """Wraps the model; applies the mean of k micro-batch gradients every k-th batch."""

    def __init__(self, inner, accum_steps, report="running mean", step_iterations=False):
        super().__init__()
        self.inner, self.k = inner, accum_steps
        self.report, self.step_iterations = report, step_iterations
        self.micro_step = tf.Variable(0, trainable=False, dtype=tf.int64)
        self.acc = [tf.Variable(tf.zeros_like(v), trainable=False) for v in inner.trainable_variables]

    def call(self, x, training=False):
        return self.inner(x, training=training)

    def train_step(self, data):
        x, y, w = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self.inner(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=w)
        grads = tape.gradient(loss, self.inner.trainable_variables)
        for a, g in zip(self.acc, grads):
            a.assign_add(g / self.k)
        self.micro_step.assign_add(1)

        def apply():  # Keras traces train_step without AutoGraph: branch with tf.cond
            self.optimizer.apply_gradients(zip([tf.identity(a) for a in self.acc],
                                               self.inner.trainable_variables))
            for a in self.acc:
                a.assign(tf.zeros_like(a))
            return tf.constant(True)

        def wait():
            if self.step_iterations:  # BUG: the schedule's step counter advances per micro-batch
                self.optimizer.iterations.assign_add(1)
            return tf.constant(False)

        tf.cond(self.micro_step % self.k == 0, apply, wait)
        if self.report == "last micro-batch":  # BUG: reports one micro-batch's loss
            return {"loss": loss}
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
        return {m.name: m.result() for m in self.metrics}


def train_step_model(model, optimizer, loss, accum_steps):
    """Correct."""
    return AccumulatingModel(model, accum_steps)


def reports_last_loss(model, optimizer, loss, accum_steps):
    """Trains correctly, reports the last micro-batch's loss as the update's."""
    return AccumulatingModel(model, accum_steps, report="last micro-batch")


def builtin_accumulation(model, optimizer, loss, accum_steps):
    """Keras' built-in accumulation switched on for the given optimizer, trained with fit:
    right with a constant rate and a per-sample loss; its EMA (use_ema) moves on every
    micro-batch, under a token loss it averages the micro-batches' own means, and under
    mixed_float16 a skipped micro-batch stretches its window."""
    # under mixed precision the optimizer is a LossScaleOptimizer: accumulation is the inner one's
    getattr(optimizer, "inner_optimizer", optimizer).gradient_accumulation_steps = accum_steps
    return model


def steps_schedule_per_micro_batch(model, optimizer, loss, accum_steps):
    """Advances optimizer.iterations (the schedule's step) on every micro-batch."""
    return AccumulatingModel(model, accum_steps, step_iterations=True)


# -- shape (b): a custom loop, update(micro_batches) -------------------------------------------------
def _loop(model, optimizer, loss, accum_steps, *, average=True, last_only=False, reset=True,
          zero_steps=False, divide_again=False, clip_norm=None, late=False, by_k=False):
    variables = model.trainable_variables
    acc = [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]

    @tf.function
    def micro_step(x, y, w, scale):
        with tf.GradientTape() as tape:
            value = loss(y, model(x, training=True), sample_weight=w)
        # an Embedding's gradient arrives as IndexedSlices: made dense to be accumulated
        grads = [tf.convert_to_tensor(g) for g in tape.gradient(value, variables)]
        for a, g in zip(acc, grads):
            a.assign_add(g * scale)
        return value, grads

    def update(micro_batches):
        values = []
        # the mean over this window's micro-batches: k of them, fewer at an epoch's end
        # (by_k, a BUG there: always divided by k, as Accelerate's #1847)
        n = accum_steps if by_k else len(micro_batches)
        scale = tf.constant(1.0 / n if average else 1.0)
        for i, (x, y, w) in enumerate(micro_batches):
            if late and i == 0:  # BUG: applies the window so far before adding the first batch
                optimizer.apply_gradients(zip([tf.identity(a) for a in acc], variables))
                for a in acc:
                    a.assign(tf.zeros_like(a))
            value, grads = micro_step(x, y, w, scale)
            values.append(value)
            if zero_steps and i < len(micro_batches) - 1:  # BUG: the optimizer steps anyway
                optimizer.apply_gradients(zip([tf.zeros_like(v) for v in variables], variables))
        if late:
            return float(tf.add_n(values)) / len(values)
        applied = grads if last_only else [tf.identity(a) for a in acc]  # BUG if last_only
        if divide_again:  # BUG: the accumulators already hold the mean
            applied = [a / accum_steps for a in applied]
        if clip_norm:  # BUG: clipped here, on the accumulated gradient, and nowhere else
            applied, _ = tf.clip_by_global_norm(applied, clip_norm)
        optimizer.apply_gradients(zip(applied, variables))
        if reset:
            for a in acc:
                a.assign(tf.zeros_like(a))
        return float(tf.add_n(values)) / len(values)

    return update


def custom_loop(model, optimizer, loss, accum_steps):
    """Correct for a per-sample loss. On token data (a masked loss, normalised by each batch's
    own count of valid tokens) it is the mean of micro-batch means: not the large batch."""
    return _loop(model, optimizer, loss, accum_steps)


def token_loop(model, optimizer, loss, accum_steps):
    """Correct for a token loss too: each micro-batch's mean is weighed by its share of the
    window's valid tokens (Keras' masked mean is the sum over valid tokens / their count)."""
    variables = model.trainable_variables
    acc = [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]

    @tf.function
    def micro_step(x, y, w, share):
        with tf.GradientTape() as tape:
            value = loss(y, model(x, training=True), sample_weight=w) * share
        for a, g in zip(acc, tape.gradient(value, variables)):
            a.assign_add(tf.convert_to_tensor(g))
        return value

    def update(micro_batches):
        total = sum(float(tf.reduce_sum(w)) for _, _, w in micro_batches)
        value = sum(float(micro_step(x, y, w, float(tf.reduce_sum(w)) / total))
                    for x, y, w in micro_batches)
        optimizer.apply_gradients(zip([tf.identity(a) for a in acc], variables))
        for a in acc:
            a.assign(tf.zeros_like(a))
        return value

    return update


def summed(model, optimizer, loss, accum_steps):
    """Sums the micro-batch gradients instead of averaging them."""
    return _loop(model, optimizer, loss, accum_steps, average=False)


def last_micro_batch(model, optimizer, loss, accum_steps):
    """The blog loop: applies the last micro-batch's gradient, throws the sum away."""
    return _loop(model, optimizer, loss, accum_steps, last_only=True)


def never_reset(model, optimizer, loss, accum_steps):
    """Never zeroes its accumulators: every update re-applies all earlier gradients."""
    return _loop(model, optimizer, loss, accum_steps, reset=False)


def steps_every_micro_batch(model, optimizer, loss, accum_steps):
    """Lets the optimizer step (with zero gradients) on the micro-steps that should not update."""
    return _loop(model, optimizer, loss, accum_steps, zero_steps=True)


def divides_twice(model, optimizer, loss, accum_steps):
    """Averages into its accumulators, then divides by k again when it applies them."""
    return _loop(model, optimizer, loss, accum_steps, divide_again=True)


def one_window_late(model, optimizer, loss, accum_steps):
    """Applies at the start of a window what it accumulated before: a first update of zeros,
    then every window one update late (the last one never)."""
    return _loop(model, optimizer, loss, accum_steps, late=True)


def divides_by_k(model, optimizer, loss, accum_steps):
    """Divides every window by k: right for full windows, 1/k too light per micro-batch for a
    partial window at an epoch's end (Accelerate's accumulate(), #1847)."""
    return _loop(model, optimizer, loss, accum_steps, by_k=True)


def clips_when_accumulating(model, optimizer, loss, accum_steps):
    """Clips the accumulated gradient to a global norm of 0.05: the large batch is not."""
    return _loop(model, optimizer, loss, accum_steps, clip_norm=0.05)

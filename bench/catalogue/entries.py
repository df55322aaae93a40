"""The published implementations the catalogue judges, one entry each: what to install (pinned),
what to import, which Keras it targets, and the adapters that run it.

To add one: write its adapter (a strategy factory, the `--strategy package.module:factory`
contract) in the top-level `catalogue/adapters.py` — code that imports the published package,
kept out of `bench/` because it runs only where `.catalogue/` is installed — and append an
`Entry` to `ENTRIES` naming it. `bench.catalogue.run` judges every entry, `bench.catalogue.report`
writes its rows to reports/catalogue and the README; neither lists entries."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Entry:
    name: str                      # the row's name
    what: str                      # the API it offers
    install: tuple[str, ...] = ()  # pinned requirements, installed with --no-deps into .catalogue/
    module: str | None = None      # imported to check it loads here
    keras: str = "3"               # the Keras it targets: "3", "2" (tf.keras / tf_keras) or "2.2"
    backend: str = "tensorflow"    # jax | torch: judged in the backend lane (its recipes'
                                   # contract: bench/backends/recipes.py)
    strategies: dict[str, str] = field(default_factory=dict)  # label -> strategy (name or path)
    why_no_deps: str = ""          # what its declared dependencies would have changed
    note: str = ""                 # what a reader needs to read its row (checked, not assumed)


ENTRIES = [
    Entry("Keras 3 built-in", "`optimizer(gradient_accumulation_steps=k)` with `model.fit`",
          strategies={"as documented": "keras_builtin"}),
    Entry("transformers (Hugging Face) 4.46.3", "TF `GradientAccumulator` (`optimization_tf`)",
          install=("transformers==4.46.3", "tf-keras==2.21.0", "huggingface-hub==0.26.5",
                   "tokenizers==0.20.3", "safetensors==0.4.5", "regex==2024.11.6",
                   "pyyaml==6.0.2", "tqdm==4.67.1", "filelock==3.16.1", "fsspec==2024.10.0"),
          module="transformers.optimization_tf",
          strategies={"as its TFTrainer used it (sum / k)":
                      "catalogue.adapters:hf_gradient_accumulator",
                      "`.gradients` applied as they are": "catalogue.adapters:hf_gradient_accumulator_unscaled"},
          why_no_deps="its requirements include numpy, of which `pip install --target` would put "
                      "a second copy beside the project's; the pins listed are what importing "
                      "the accumulator needs"),
    Entry("gradient-accumulator 0.5.2", "`GradientAccumulateModel`, `GradientAccumulateOptimizer`",
          install=("gradient-accumulator==0.5.2",), module="gradient_accumulator", keras="2",
          strategies={"GradientAccumulateModel": "catalogue.adapters:gradient_accumulate_model",
                      "GradientAccumulateOptimizer":
                      "catalogue.adapters:gradient_accumulate_optimizer"},
          why_no_deps="it pins numpy<=1.23.2 (the project runs numpy 2)"),
    Entry("ga-optimizer 0.1.2", "`make_ga_optimizer` around Keras 2 optimizers",
          install=("ga-optimizer==0.1.2",), module="ga_optimizer", keras="2",
          strategies={"make_ga_optimizer": "catalogue.adapters:ga_optimizer"},
          note="it imports `keras.backend` (the standalone package, Keras 3 here) beside "
               "`tensorflow.keras`: it needs `keras` itself to be Keras 2, which cannot be "
               "installed beside Keras 3"),
    Entry("bert4keras 0.11.5", "`extend_with_gradient_accumulation(Optimizer)`",
          install=("bert4keras==0.11.5",), module="bert4keras.optimizers", keras="2",
          strategies={"extend_with_gradient_accumulation(Adam)":
                      "catalogue.adapters:bert4keras_accumulation"},
          why_no_deps="it requires keras<=2.3.1",
          note="its optimizers subclass `keras.optimizers.Optimizer` and call `_set_hyper`, the "
               "API that class had before TensorFlow 2.11 (tf_keras keeps it only as "
               "`optimizers.legacy`)"),
    Entry("keras-gradient-accumulation 0.0.6", "`GradientAccumulation` optimizer wrapper",
          install=("keras-gradient-accumulation==0.0.6",), module="keras_gradient_accumulation",
          keras="2.2", why_no_deps="it requires keras<=2.3.1 (Keras 2.2-2.3 on TensorFlow 1)"),
    Entry("optax 0.2.8", "`optax.MultiSteps(optax.adam(lr), every_k_schedule=k)` in a "
          "stateless JAX loop", install=("optax==0.2.8",), module="optax", backend="jax",
          strategies={"MultiSteps(adam)": "catalogue.backend_adapters:optax_multisteps"},
          why_no_deps="its requirements are jax, jaxlib, numpy and absl-py, which the project "
                      "has (make setup-backends)",
          note="judged against optax's own Adam at the large batch (the same code with "
               "every_k_schedule=1): optax puts Adam's epsilon outside the bias correction, "
               "Keras inside"),
    Entry("PyTorch recipe (torch 2.13.0)", "`(loss / k).backward()`, `optimizer.step()` and "
          "`zero_grad()` every k, with `torch.optim.Adam`", module="torch", backend="torch",
          strategies={"loss / k, step every k": "catalogue.backend_adapters:torch_recipe"},
          note="no package of its own: the loop every PyTorch guide shows, on the Keras model "
               "(a torch.nn.Module on that backend), judged against itself at k = 1"),
    Entry("Accelerate 1.15.0", "`with accelerator.accumulate(model):` with a prepared "
          "optimizer and scheduler", install=(
              "accelerate==1.15.0", "huggingface-hub==2.4.0", "safetensors==0.8.0",
              "pyyaml==6.0.4", "click==8.5.1", "hf-xet==1.8.0", "httpx2==2.17.0",
              "httpcore2==2.17.0", "h11==0.16.0", "anyio==4.16.0", "tqdm==4.70.1",
              "truststore==0.10.5"),
          module="accelerate", backend="torch",
          strategies={"accumulate(model)": "catalogue.backend_adapters:accelerate_accumulate"},
          why_no_deps="its requirements include torch and numpy, of which `pip install "
                      "--target` would put second copies beside the project's; the pins listed "
                      "are what importing it needs",
          note="on the CPU, one process; judged against itself at gradient_accumulation_steps=1"),
    Entry("runai 0.4.1", "`runai.ga.keras` optimizer wrapper", install=("runai==0.4.1",),
          module="runai.ga.keras", keras="2.2",
          why_no_deps="it requires keras<=2.3.1 (Keras 2.2-2.3 on TensorFlow 1)"),
]

"""Data sets: real loaders (local copy, cache or checked download), synthetic stand-ins, and the
provenance label that every result carries. Models never load data; this package does."""
from bench.data.base import Dataset, Provenance, Split
from bench.data.registry import DATASETS, DatasetEntry, get_dataset_entry, load_dataset
from bench.data.sources import Sources

__all__ = ["DATASETS", "Dataset", "DatasetEntry", "Provenance", "Sources", "Split",
           "get_dataset_entry", "load_dataset"]

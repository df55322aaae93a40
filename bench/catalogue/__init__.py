"""The catalogue: published gradient-accumulation code, installed pinned from the registry and
judged at levels 1-2 as its users run it (`make catalogue`, `python -m bench catalogue`)."""

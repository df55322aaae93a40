"""Adapters that run published gradient-accumulation code as its users run it, for the
catalogue (`make catalogue`). The published code itself is installed from the registry, pinned,
into `.catalogue/` and imported; nothing of it is copied here."""

"""The sweep: named profiles (data files) expanded into isolated runs and equivalence analyses."""

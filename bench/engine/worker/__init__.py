"""The processes that train: the fork server and its children, and multi-worker tasks."""

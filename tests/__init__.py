"""townops test suite (a regular package: gmqtt ships a top-level `tests` package)."""

"""The test suite; a package so that `tests.conftest` is ours even when an installed library ships a top-level `tests`."""

"""The test suite; a package so that `tests.helpers` is ours even when an installed library ships
a top-level `tests`."""

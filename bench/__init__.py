"""The benchmark: the gateway against the mock upstream hit directly, in one run (``python -m bench.run``)."""

"""The applications: the main job (``pipeline run``), its samples and metrics, the benchmark."""

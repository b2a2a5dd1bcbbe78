"""Real transformer workloads: model loading, reference forward passes, traces and accuracy."""

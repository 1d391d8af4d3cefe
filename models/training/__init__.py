"""Training: the trainer and its command line, a training run as a queue job, and the checks a model must pass."""

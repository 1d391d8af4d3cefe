"""Training: the trainer (trainer.py) and what a run records (result.py), its command line (cli.py), a training run
as a queue job (job.py), and the checks a model must pass (checks.py)."""

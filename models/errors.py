"""Errors the app shows to a user verbatim: each message names the problem and what to do."""


class AutoencoderError(ValueError):
    """Base class for every user-facing error of the model layer."""


class ConfigError(AutoencoderError):
    """A model or training setting is invalid or absurd."""


class DataError(AutoencoderError):
    """A data source is missing, unreadable, or not images."""


class CheckpointError(AutoencoderError):
    """A checkpoint is corrupt, truncated, or does not match its config."""


class TrainingError(AutoencoderError):
    """Training could not run at all (not used for a stopped run, which returns a reason)."""

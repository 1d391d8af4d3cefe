"""Messages as the pages show them: user text escaped for Markdown, a model-layer error, and anything unexpected
(a short note for the user, the traceback in the server's log)."""

from __future__ import annotations

import logging
import re

import streamlit as st

from models.errors import AutoencoderError

LOG = logging.getLogger("autoencoder_explorer")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def escape_md(text) -> str:
    """User text (file, folder and checkpoint names, titles made from them, error messages quoting them) as
    Markdown shows it literally: every character Markdown or Streamlit's directives (**, [link](…), :red[…],
    $…$) act on is backslash-escaped, and line breaks become spaces. Streamlit expands :material/…: icons
    even between escaped colons, so a zero-width space also follows each colon."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", _CONTROL.sub(" ", str(text)))
    return escaped.replace(":", ":\u200b")


def subscript(number: int) -> str:
    """A whole number in subscript digits, for names such as w₁₂ or σ₁₀₀ in a caption."""
    return str(number).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def show_error(exc: Exception) -> None:
    """A model-layer error (an AutoencoderError: it names the problem) as the user reads it."""
    st.error(escape_md(exc), icon=":material/error:")


def report_unexpected(exc: Exception, doing: str) -> None:
    """An error no check foresaw: a short message for the user, the traceback in the server's log (never a
    traceback or a server path in the browser)."""
    LOG.error("unexpected error while %s", doing, exc_info=exc)
    st.error(f"Something unexpected went wrong while {doing} ({type(exc).__name__}). Nothing was added or "
             f"changed; the details are in the server's log.", icon=":material/error:")


class user_errors:  # noqa: N801 (used as `with user_errors(...)`, like contextlib's helpers)
    """Every error a page shows, caught in one place: a model-layer error names its problem (show_error); anything
    else gets a short message and its traceback goes to the server's log (report_unexpected). Streamlit's rerun
    and stop are BaseExceptions and pass through. `failed` says whether the block ended in an error, for a caller
    that must not go on. Fragments rerun on their own, outside the page's try, so each section uses its own."""

    def __init__(self, doing: str):
        self.doing, self.failed = doing, False

    def __enter__(self) -> "user_errors":
        return self

    def __exit__(self, kind, exc, traceback) -> bool:
        if isinstance(exc, AutoencoderError):
            show_error(exc)
        elif isinstance(exc, Exception):
            report_unexpected(exc, self.doing)
        else:
            return False
        self.failed = True
        return True

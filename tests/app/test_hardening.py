"""Issue 9: every bad input gets a clear message. One section per case of the issue, each through the function
the page calls and, for cases 1-4 and 6, through AppTest: the user reads what is wrong and the app keeps
serving (a valid upload right after is accepted)."""

from __future__ import annotations

import io
import json
import logging
import re
import tomllib
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from models.autoencoders import build_model
from models.checkpoint import MAX_JSON_DEPTH, json_nesting_depth, to_bytes
from models.config import ModelConfig
from models.data import load_user_images
from models.errors import CheckpointError, ConfigError, DataError
from tests import ROOT
from tests.app.test_app_train import finish_training, train_page, trained
from ui.messages import escape_md
from ui.train.form import TrainForm, accept_checkpoint_upload, build_configs, parse_hidden

MARKDOWN_NAME = "**bold** [link](#injected)"


def small_model(scale: float = 1.0, **config) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(ModelConfig(**{"hidden": (8,), **config})).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(scale)
    return model


def checkpoint_files(model=None, record=None, stem="mine", document: bytes | None = None):
    weights, default_document = to_bytes(model if model is not None else small_model(), record or {"dataset": "mnist"})
    return [(f"{stem}.safetensors", weights), (f"{stem}.json", default_document if document is None else document)]


def accept(files, mnist):
    return accept_checkpoint_upload(files, lambda dataset: mnist)


def with_config(**changes) -> bytes:
    """A valid checkpoint's JSON with config fields replaced by raw JSON text (which json.dumps cannot write)."""
    document = to_bytes(small_model(), {"dataset": "mnist"})[1].decode()
    data = json.loads(document)
    for key in changes:
        data["config"][key] = f"@@{key}@@"
    text = json.dumps(data)
    for key, raw in changes.items():
        text = text.replace(f'"@@{key}@@"', raw)
    return text.encode()


# --- the app, as a user meets it --------------------------------------------------------------------------
def as_read(markdown: str) -> str:
    """Text as the browser shows it: user text is backslash-escaped and colons carry a zero-width space."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


def texts(elements) -> str:
    return " | ".join(as_read(e.value) for e in elements)


def upload(at: AppTest, files) -> AppTest:
    at.file_uploader(key="train_checkpoint_files").set_value(
        [(name, data, "application/octet-stream") for name, data in files])
    at.button(key="train_checkpoint_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def refused_then_served(files, message: str) -> AppTest:
    """Upload `files` on the Train page: the message is shown, nothing is added, and a valid checkpoint
    uploaded next is accepted (the session and the server go on)."""
    at = upload(train_page(), files)
    assert message in texts(at.error), texts(at.error)
    assert not trained(at)
    upload(at, checkpoint_files(stem="valid"))
    assert len(trained(at)) == 1 and "Added valid" in texts(at.success)
    return at


def submit_form(at: AppTest, **widgets) -> AppTest:
    """Fill in the Train form (1 epoch, 16 hidden units unless told) and press Train."""
    values = {"train_epochs": 1, "train_hidden": "16", **widgets}
    for key, value in values.items():
        widget = next(w for kind in ("slider", "select_slider", "text_input", "number_input", "radio")
                      for w in getattr(at, kind) if w.key == key)
        widget.set_value(value)
    at.button(key="train_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return finish_training(at)  # the run trains in the server's pool; the page's next run shows how it ended


# --- 1. deeply nested JSON --------------------------------------------------------------------------------
@pytest.mark.parametrize("text, depth", [(b'{"a": [1, {"b": "[[[{"}]}', 3), (b'["\\"[[", [[]]]', 3),
                                         (b'["\\\\", [[]]]', 3), (b"[" * 100_000, 100_000), (b"", 0),
                                         (b'"unterminated [[[', 0)])
def test_nesting_depth_counts_brackets_outside_strings(text, depth):
    assert json_nesting_depth(text) == depth


@pytest.mark.parametrize("document", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000])
def test_deeply_nested_json_is_refused_before_parsing(document, mnist):
    with pytest.raises(CheckpointError, match=f"100,000 levels deep; .* at most {MAX_JSON_DEPTH}"):
        accept(checkpoint_files(document=document), mnist)


def test_deeply_nested_json_in_the_app_says_so_and_the_app_goes_on():
    refused_then_served(checkpoint_files(document=b"[" * 100_000 + b"]" * 100_000), "100,000 levels deep")


def test_nesting_inside_the_record_is_refused_too(mnist):
    document = json.loads(to_bytes(small_model(), {})[1])
    document["record"] = {"notes": "x"}  # the document, the record, then 200 levels: 202
    text = json.dumps(document).replace('"x"', "[" * 200 + "]" * 200).encode()
    with pytest.raises(CheckpointError, match="202 levels deep"):
        accept(checkpoint_files(document=text), mnist)


# --- 2. integers over 4,300 digits --------------------------------------------------------------------------
@pytest.mark.parametrize("digits", [5000, 4000, 41])
def test_huge_integers_in_the_config_are_refused_with_their_length(digits, mnist):
    with pytest.raises(CheckpointError, match=f"a whole number {digits:,} digits long"):
        accept(checkpoint_files(document=with_config(latent="9" * digits)), mnist)


def test_a_huge_integer_in_the_record_is_refused(mnist):
    files = checkpoint_files(document=to_bytes(small_model(), {"epochs": 7})[1].replace(b"7", b"7" * 5000))
    with pytest.raises(CheckpointError, match="5,000 digits long"):
        accept(files, mnist)


def test_huge_integers_in_the_app_say_so_and_the_app_goes_on():
    refused_then_served(checkpoint_files(document=with_config(latent="9" * 5000)), "5,000 digits long")


def test_huge_values_built_in_python_are_config_errors_not_overflow():
    with pytest.raises(ConfigError, match="latent is far out of range: a number about 4,000 digits long"):
        ModelConfig(latent=10**4000)
    with pytest.raises(ConfigError, match="beta is far out of range"):
        ModelConfig(beta=10**400)


# --- 3. a 5,000-digit hidden size typed in the form -----------------------------------------------------------
def test_a_5000_digit_hidden_size_is_a_config_error():
    with pytest.raises(ConfigError, match=r"hidden sizes must be between 1 and 4096; 9{19}… is far larger"):
        parse_hidden("256, " + "9" * 5000)
    with pytest.raises(ConfigError, match="far larger"):
        build_configs(TrainForm(hidden="9" * 5000))
    assert parse_hidden("0064, 0032") == (64, 32)  # leading zeros are still a plain number


def test_a_5000_digit_hidden_size_in_the_form_says_so_and_trains_nothing():
    at = submit_form(train_page(), train_hidden="9" * 5000)
    assert "hidden sizes must be between 1 and 4096" in texts(at.error)
    assert not trained(at)


# --- 6. user text is escaped wherever it is shown ---------------------------------------------------------------
def test_escape_md_leaves_no_markdown_active():
    escaped = escape_md(f"{MARKDOWN_NAME} :material/home: :red[x] $x$ <b>\n# h")
    assert as_read(escaped) == f"{MARKDOWN_NAME} :material/home: :red[x] $x$ <b> # h"
    assert re.search(r"(?<!\\)[*\[\]()#$<>]", escaped) is None  # every such character is escaped
    assert ":material" not in escaped and "\n" not in escaped


def test_a_markdown_file_name_in_an_upload_error_is_shown_literally():
    at = upload(train_page(), checkpoint_files(stem=MARKDOWN_NAME)[:1] + [(f"{MARKDOWN_NAME}.json", b"{oops")])
    (error,) = at.error
    assert as_read(error.value).startswith(f"{MARKDOWN_NAME}: the config file is not valid JSON")
    assert "**" not in error.value and "](" not in error.value


def test_a_markdown_checkpoint_name_is_escaped_on_the_train_page_and_in_reconstructions(mnist):
    at = upload(train_page(), checkpoint_files(stem=MARKDOWN_NAME))
    (notice,) = at.success
    assert as_read(notice.value).startswith(f"Added {MARKDOWN_NAME}: Dense AE") and "**" not in notice.value
    (name,) = trained(at)
    title = trained(at)[name].title
    assert title.startswith(MARKDOWN_NAME)  # kept as typed; escaped where it is drawn
    picker = at.sidebar.selectbox(key="sidebar_model")
    assert f"{title} (uploaded)" in picker.options  # a selectbox shows plain text, so its option is as typed
    picker.set_value(f"{title} (uploaded)")  # AppTest sends the label, as the browser would
    at.switch_page("pages/reconstructions.py").run()
    assert not at.exception
    caption = next(c.value for c in at.caption if "its reconstruction by" in c.value)
    assert f"**{escape_md(title)}**" in caption


def test_a_markdown_zip_name_in_a_data_error_is_shown_literally():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        png = io.BytesIO()
        Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(png, format="PNG")
        archive.writestr("one.png", png.getvalue())
    at = train_page()
    at.radio(key="train_dataset").set_value("user").run()  # the uploader shows for "your images" only
    at.file_uploader(key="train_upload").set_value((f"{MARKDOWN_NAME}.zip", buffer.getvalue(), "application/zip"))
    submit_form(at)
    (error,) = at.error
    assert as_read(error.value) == f"{MARKDOWN_NAME}.zip holds 1 PNG/JPEG image(s); at least 2 are needed"
    assert "**" not in error.value


# --- 7. the smaller ones ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("field, value, message", [
    ("latent", 999, "Latent size must be between 1 and 256; 999 is out of range"),
    ("latent", 2.5, "Latent size must be a whole number between 1 and 256, got 2.5"),
    ("seed", -1, "Seed must be between 0 and 2.14748e+09; -1 is out of range"),
    ("beta", float("nan"), "β must be a number between 0 and 100, got nan"),
    ("rho", 1.5, "Target mean activation ρ must be between 0.001 and 0.999; 1.5 is out of range"),
    ("weight", 1e30, "Penalty weight λ must be between 0 and 1000; 1e+30 is out of range"),
    ("noise_level", -0.1, "Noise level must be between 0 and 5; -0.1 is out of range"),
])
def test_out_of_range_form_values_say_what_is_wrong(field, value, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_configs(TrainForm(**{field: value}))


def test_an_out_of_range_value_in_the_form_is_named_and_nothing_trains():
    at = submit_form(train_page(), train_latent=999)
    assert "Latent size must be between 1 and 256; 999 is out of range" in texts(at.error)
    assert not trained(at)


def unsafe_zip(safe: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        png = io.BytesIO()
        Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(png, format="PNG")
        for i in range(3):
            archive.writestr(f"../outside/{i}.png", png.getvalue())
        archive.writestr("/etc/absolute.png", png.getvalue())
        for i in range(safe):
            archive.writestr(f"inside/{i}.png", png.getvalue())
    return buffer.getvalue()


def test_a_zip_of_unsafe_paths_says_they_were_skipped():
    with pytest.raises(DataError, match=r"holds 0 PNG/JPEG image\(s\); 4 entries with unsafe paths \(\.\./ or "
                                        r"absolute, e\.g\. \.\./outside/0\.png\) were skipped"):
        load_user_images(unsafe_zip(0), name="slip.zip")
    data = load_user_images(unsafe_zip(3), name="slip.zip")
    assert len(data.train) + len(data.test) == 3 and "4 entries with unsafe paths" in data.source


@pytest.mark.parametrize("raw, message", [("[8.7]", "each hidden entry must be a whole number, got 8.7"),
                                          ('"8"', "hidden must be a list of whole numbers, got '8'"),
                                          ("[true]", "each hidden entry must be a whole number, got True")])
def test_fractional_hidden_sizes_are_refused_like_a_fractional_latent(raw, message, mnist):
    with pytest.raises(CheckpointError, match=re.escape(message)):
        accept(checkpoint_files(document=with_config(hidden=raw)), mnist)
    with pytest.raises(CheckpointError, match="latent must be a whole number, got 2.5"):
        accept(checkpoint_files(document=with_config(latent="2.5")), mnist)
    assert accept(checkpoint_files(document=with_config(hidden="[8.0]")), mnist)[0].model.config.hidden == (8,)


def test_an_unexpected_error_shows_a_short_message_and_logs_the_traceback(monkeypatch, caplog):
    import ui.train.form as support

    def broken(files, load_data):
        raise RuntimeError("/srv/secret/path/models/thing.py exploded")

    monkeypatch.setattr(support, "accept_checkpoint_upload", broken)
    with caplog.at_level(logging.ERROR, logger="autoencoder_explorer"):
        at = upload(train_page(), checkpoint_files())
    shown = texts(at.error)
    assert "Something unexpected went wrong while reading the checkpoint (RuntimeError)" in shown
    assert "/srv" not in shown and "exploded" not in shown
    record = next(r for r in caplog.records if r.name == "autoencoder_explorer")
    assert "/srv/secret/path" in str(record.exc_info[1]) and record.exc_info[2] is not None


def test_uncaught_errors_show_no_details_in_the_browser():
    from streamlit.config import ShowErrorDetailsConfigOptions

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == ShowErrorDetailsConfigOptions.NONE.value


def test_a_diverged_run_is_flagged_on_the_train_page():
    # A learning rate of 10 on a small model: the held-out loss explodes in the first epoch.
    at = submit_form(train_page(), train_lr=10.0, train_batch=512)
    warning = texts(at.warning)
    assert "**This run diverged**: the held-out loss exploded to" in warning and "at epoch 1" in warning
    assert "No epoch finished, so no model was kept" in warning
    assert not trained(at)

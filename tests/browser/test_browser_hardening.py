"""Issue 9 in the real browser: a hostile checkpoint upload on the Train page is refused with a clear message
in which the file's Markdown-looking name shows literally (no bold, no link), and the page goes on serving.
Screenshots land in test-artifacts/ (look at them)."""

from __future__ import annotations

import pytest

from benchmarks.harness import ARTIFACTS, wait_idle

NAME = "**bold** [link](#injected)"

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    yield context.new_page()
    context.close()


def checkpoint_bytes() -> tuple[bytes, bytes]:
    import torch

    from models.autoencoders import build_model
    from models.checkpoint import to_bytes
    from models.config import ModelConfig

    torch.manual_seed(0)
    return to_bytes(build_model(ModelConfig(hidden=(8,))).eval(), {"dataset": "mnist"})


def shown(alert) -> str:
    """An alert's text as read: its message without the icon, and without the zero-width spaces after colons."""
    return alert.locator('[data-testid="stMarkdownContainer"]').inner_text().replace("\u200b", "")


def upload(page, files: list[tuple[str, bytes]]) -> None:
    expander = page.locator('[data-testid="stExpander"]').filter(has_text="Load a checkpoint trained elsewhere")
    submit = expander.get_by_role("button", name="Add to this session's models")
    if not submit.is_visible():
        expander.get_by_text("Load a checkpoint trained elsewhere").click()
    remove = expander.locator('[data-testid="stFileChipDeleteBtn"]')
    for _ in range(remove.count()):  # the files of the last try
        remove.first.click()
        page.wait_for_timeout(300)
    expander.locator('input[type="file"]').set_input_files(
        [{"name": name, "mimeType": "application/octet-stream", "buffer": data} for name, data in files])
    page.wait_for_timeout(500)
    submit.click()
    wait_idle(page)


def test_a_hostile_upload_shows_its_name_literally_and_the_page_goes_on(server, page):
    weights, document = checkpoint_bytes()
    page.goto(f"{server}/train")
    wait_idle(page)
    upload(page, [(f"{NAME}.safetensors", weights), (f"{NAME}.json", b"[" * 100_000 + b"]" * 100_000)])
    error = page.locator('[data-testid="stAlertContentError"]')
    assert error.count() == 1
    error.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "train_error_1280.png"))
    assert shown(error).startswith(f"{NAME}: the config file nests lists or objects 100,000 levels deep")
    assert error.locator("strong, a, b, em").count() == 0  # the name's Markdown is not rendered
    assert page.locator('[data-testid="stException"]').count() == 0
    upload(page, [(f"{NAME}.safetensors", weights), (f"{NAME}.json", document)])
    notice = page.locator('[data-testid="stAlertContentSuccess"]')
    assert shown(notice).startswith(f"Added {NAME}: Dense AE, latent 2, hidden 8")
    assert notice.locator("strong, a").count() == 0
    sidebar_model = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').nth(1)
    picked = sidebar_model.locator("input").input_value() or sidebar_model.inner_text()
    assert picked.startswith(f"{NAME}: Dense AE")  # a selectbox shows plain text: the name as typed


def test_an_out_of_range_number_typed_in_the_form_is_named_when_train_is_pressed(server, page):
    page.goto(f"{server}/train")
    wait_idle(page)
    page.get_by_label("Latent size (code units), 1 to 256").fill("999")
    page.get_by_role("button", name="Train").click()
    wait_idle(page)
    error = page.locator('[data-testid="stAlertContentError"]')
    assert error.count() == 1
    assert shown(error) == "Latent size must be between 1 and 256; 999 is out of range"
    error.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "train_form_error_1280.png"))

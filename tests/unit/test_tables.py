"""A wide table's phone form (ui/tables.py): one Markdown line per row, each figure named by its column."""

import re

import pandas as pd

from ui.tables import row_lines


def shown(line: str) -> str:
    """What Markdown shows of an escaped line: each backslash-escaped character as itself."""
    return re.sub(r"\\(.)", r"\1", line)


def test_each_row_becomes_one_line_with_its_index_and_every_column_named():
    frame = pd.DataFrame({"training digits": [4500, 500], "units": [50, 400], "tied gap": ["8.5", "22.9"],
                          "parameters tied / untied": ["40,034 / 79,234", "314,784 / 628,384"]})
    lines = row_lines(frame.set_index(["training digits", "units"]))
    assert [shown(line) for line in lines] == [
        "- **training digits 4500 · units 50**: tied gap **8.5**; parameters tied / untied **40,034 / 79,234**",
        "- **training digits 500 · units 400**: tied gap **22.9**; parameters tied / untied **314,784 / 628,384**",
    ]


def test_a_named_index_shows_its_name_alone_and_user_text_is_escaped():
    frame = pd.DataFrame({"model": ["my *best* run"], "decoding": ["Wᵀ(f⁻¹(h) − b)"], "BCE": ["60.0"]})
    (line,) = row_lines(frame.set_index(["model", "decoding"]))
    assert shown(line) == "- **my *best* run · Wᵀ(f⁻¹(h) − b)**: BCE **60.0**"
    assert r"my \*best\* run" in line  # the user's asterisks stay asterisks, not emphasis


def test_an_unnamed_index_shows_its_values_as_st_table_does():
    lines = row_lines(pd.DataFrame({"a": ["1", "3"], "b": ["2", "4"]}))
    assert [shown(line) for line in lines] == ["- **0**: a **1**; b **2**", "- **1**: a **3**; b **4**"]

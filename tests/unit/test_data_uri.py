"""``--data`` takes a folder path or a ``file://`` URI of one; other URIs are refused with what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from yigongti.cli import app
from yigongti.core.cli import data_folder


def test_a_file_uri_is_the_folder_it_names() -> None:
    assert data_folder("file:///mnt/province 2026") == Path("/mnt/province 2026")
    assert data_folder("file:///mnt/province%202026") == Path("/mnt/province 2026")
    assert data_folder("file://localhost/mnt/p") == Path("/mnt/p")
    assert data_folder("relative/folder") == Path("relative/folder")


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1,
                        max_size=8), min_size=1, max_size=4))
def test_a_paths_file_uri_gives_the_path_back(parts: list[str]) -> None:
    path = Path("/", *parts)
    assert data_folder(path.as_uri()) == path


@pytest.mark.parametrize("uri", ["hdfs://namenode:8020/province", "s3a://bucket/province", "file://otherhost/p"])
def test_other_uris_are_refused_with_what_to_do(uri: str) -> None:
    with pytest.raises(typer.BadParameter) as exc:
        data_folder(uri)
    assert uri in str(exc.value)


def test_the_commands_take_a_file_uri(example_input: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["adjudicate", "--data", example_input.as_uri(), "--year", "2026",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "adjudicated.csv").stat().st_size > 0
    refused = CliRunner().invoke(app, ["adjudicate", "--data", "hdfs://nn/p", "--year", "2026", "--out", str(out)])
    assert refused.exit_code == 2 and "mount" in refused.output

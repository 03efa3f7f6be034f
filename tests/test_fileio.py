"""The one atomic-write helper: whole files only, also when writers race on one path."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from bayestune.fileio import write_atomic


def test_racing_writers_never_publish_a_partial_file(tmp_path):
    path = tmp_path / "trials.csv"
    texts = [f"{i}\n" * 20_000 for i in range(8)]  # 8 writers, each a distinct whole text
    seen, stop = set(), threading.Event()

    def read():
        while not stop.is_set():
            if path.exists():
                seen.add(path.read_text())

    errors: list[BaseException] = []

    def write(text):
        try:
            for _ in range(20):
                write_atomic(path, text)
        except BaseException as exc:  # noqa: BLE001 - a writer dying is what this test looks for
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(t,)) for t in texts]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    reader.join()
    assert not errors
    assert seen <= set(texts) and path.read_text() in texts
    assert [p.name for p in tmp_path.iterdir()] == ["trials.csv"]  # no temporary file left behind


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "best.json"
    write_atomic(path, "old\n")
    with pytest.raises(TypeError):
        write_atomic(path, None)  # type: ignore[arg-type]
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["best.json"]


def test_the_file_gets_the_mode_of_a_plain_write(tmp_path):
    write_atomic(tmp_path / "a.txt", "x")
    (tmp_path / "b.txt").write_text("x")
    mode = lambda p: stat.S_IMODE(os.stat(p).st_mode)  # noqa: E731
    assert mode(tmp_path / "a.txt") == mode(tmp_path / "b.txt")

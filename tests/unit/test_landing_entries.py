"""Odd entries in a local landing zone: listed with what they are, never followed or blocked on;
file names of any bytes handed out as text and read back."""

import os
import random

import pytest

from cicl_assets.landing import LandingZone
from cicl_assets.landing import zone as landing_zone
from cicl_assets.landing.names import escape, unescape
from cicl_assets.landing.zone import NotRegularFileError, UnsafePathError


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"otel/a.json", "otel/a.json"),
        ("otel/caf\u00e9.json".encode(), "otel/caf\u00e9.json"),
        (b"otel/\xff\xfe.json", "otel/\\xff\\xfe.json"),
        (b"otel/..\\evil.json", "otel/..\\\\evil.json"),
        (b"otel/a\nb.json", "otel/a\\x0ab.json"),
        (b"otel/\x1b[31m.json", "otel/\\x1b[31m.json"),
        ("otel/\u0085.json".encode(), "otel/\\xc2\\x85.json"),  # a C1 control, as its bytes
        (b"otel/x\\x41", "otel/x\\\\x41"),  # text that looks like an escape is escaped itself
    ],
)
def test_names_are_escaped_text_and_come_back_byte_for_byte(raw, text):
    assert escape(raw) == text
    assert unescape(text) == raw
    text.encode("utf-8")  # storable anywhere


def test_escape_and_unescape_are_inverses_on_any_bytes():
    rng = random.Random(9)
    alphabet = b"ab/.\\x4\x00\x1f\x7f\x80\xc2\xc3\xa9\xed\xff"
    for _ in range(5000):
        raw = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert unescape(escape(raw)) == raw


@pytest.mark.parametrize("text", ["a\\b", "a\\", "a\\x4"])
def test_a_backslash_that_starts_no_escape_is_refused(text):
    with pytest.raises(ValueError, match="a backslash must be written"):
        unescape(text)


@pytest.fixture
def odd_zone(tmp_path):
    otel = tmp_path / "landing" / "otel"
    otel.mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.json").write_bytes(b"{}")
    (otel / "a.json").write_bytes(b"{}")
    (otel / "..\\evil.json").write_bytes(b"{}")
    with open(os.fsencode(otel) + b"/\xff\xfe.json", "wb") as handle:
        handle.write(b"[1]")
    os.symlink(tmp_path / "nowhere", otel / "dangling.json")
    os.symlink(otel / "loop.json", otel / "loop.json")
    os.symlink(otel / "a.json", otel / "to-a.json")
    os.mkfifo(otel / "pipe.json")
    (otel / "sub").mkdir()
    (otel / "sub" / "b.json").write_bytes(b"[]")
    os.symlink(otel / "sub", otel / "linked-folder")
    os.symlink(tmp_path / "outside", otel / "linked-outside")
    return LandingZone(uri=str(tmp_path / "landing"))


def test_listing_names_every_entry_and_what_it_is(odd_zone):
    assert [(o.path, o.kind) for o in odd_zone.list("otel")] == [
        ("otel/..\\\\evil.json", "file"),
        ("otel/\\xff\\xfe.json", "file"),
        ("otel/a.json", "file"),
        ("otel/dangling.json", "symbolic link"),
        ("otel/linked-folder", "symbolic link"),
        ("otel/linked-outside", "symbolic link"),
        ("otel/loop.json", "symbolic link"),
        ("otel/pipe.json", "named pipe (FIFO)"),
        ("otel/sub/b.json", "file"),
        ("otel/to-a.json", "symbolic link"),
    ]


def test_only_regular_files_are_read(odd_zone):
    assert odd_zone.read_bytes("otel/\\xff\\xfe.json", 100) == b"[1]"
    assert odd_zone.read_bytes("otel/sub/b.json", 100) == b"[]"
    for path, kind in [
        ("otel/dangling.json", "symbolic link"),
        ("otel/loop.json", "symbolic link"),
        ("otel/to-a.json", "symbolic link"),
        ("otel/pipe.json", "named pipe (FIFO)"),  # read without blocking on a writer
    ]:
        with pytest.raises(NotRegularFileError) as err:
            odd_zone.read_bytes(path, 100)
        assert str(err.value) == f"{path}: a {kind}, not a regular file"
    with pytest.raises(UnsafePathError) as err:
        odd_zone.read_bytes("otel/..\\\\evil.json", 100)
    assert str(err.value) == (
        "landing path 'otel/..\\\\evil.json' escapes the landing root (a '\\' counts as a separator)"
    )
    with pytest.raises(UnsafePathError, match="resolves outside the landing root"):
        odd_zone.read_bytes("otel/linked-outside/secret.json", 100)
    assert odd_zone.read_bytes("otel/linked-folder/b.json", 100) == b"[]"  # inside the root


def test_a_file_that_vanishes_while_listing_is_left_out(odd_zone, monkeypatch, tmp_path):
    real = os.scandir

    def scandir_then_delete(path):
        entries = list(real(path))
        if os.fsdecode(path).endswith("otel"):
            os.remove(tmp_path / "landing" / "otel" / "a.json")
        return iter(entries)

    monkeypatch.setattr(os, "scandir", scandir_then_delete)
    assert "otel/a.json" not in [o.path for o in odd_zone.list("otel")]


def test_a_read_past_its_time_limit_stops(tmp_path, monkeypatch):
    (tmp_path / "slow.json").write_bytes(b"x" * 64)
    monkeypatch.setattr(landing_zone, "_READ_CHUNK", 8)
    zone = LandingZone(uri=str(tmp_path))
    with pytest.raises(TimeoutError, match=r"slow\.json: reading took longer than 0 s"):
        zone.read_bytes("slow.json", 1000, timeout_s=1e-9)
    assert zone.read_bytes("slow.json", 1000, timeout_s=60) == b"x" * 64


def test_a_folder_that_cannot_be_listed_is_listed_as_such(odd_zone, monkeypatch):
    real = os.scandir

    def refuse_sub(path):
        if os.fsdecode(path).endswith("sub"):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(os, "scandir", refuse_sub)
    listed = {o.path: o.kind for o in odd_zone.list("otel")}
    assert listed["otel/sub"] == "folder that cannot be listed (Permission denied)"
    assert "otel/sub/b.json" not in listed


def test_folders_nested_deeper_than_python_recurses_are_listed(tmp_path):
    folder = tmp_path / "otel"
    folder.mkdir()
    for _ in range(1500):
        folder = folder / "d"
        folder.mkdir()
    (folder / "deep.json").write_bytes(b"{}")
    try:
        [listed] = LandingZone(uri=str(tmp_path)).list("otel")
        assert listed.path == "otel/" + "d/" * 1500 + "deep.json"
    finally:  # bottom up: removing the tree recursively would hit the same limit
        (folder / "deep.json").unlink()
        while folder != tmp_path:
            folder.rmdir()
            folder = folder.parent

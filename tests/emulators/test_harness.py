"""The harness fails loudly, with the emulator's own words, when an emulator does not start."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.emulators.harness import EmulatorError, EmulatorKind, environment_dir, launch

HERE = Path(__file__).resolve().parent


def _kind(script: str) -> EmulatorKind:
    return EmulatorKind(
        name="fake",
        requirements=HERE / "requirements-gcs.txt",
        command=lambda _root, port: [sys.executable, "-c", script, str(port)],
        ready_path="/",
    )


def test_an_emulator_that_exits_fails_with_its_log(tmp_path):
    kind = _kind("import sys; print('spatial extension missing', flush=True); sys.exit(3)")
    with pytest.raises(EmulatorError) as failure:
        launch(kind, tmp_path, tmp_path / "work")
    message = str(failure.value)
    assert "the fake emulator did not start" in message
    assert "exited with code 3" in message
    assert "spatial extension missing" in message
    assert message.count("attempt ") == 1  # a crash is not retried on another port


def test_an_emulator_that_never_answers_is_stopped_and_reported(tmp_path):
    kind = _kind("import time; print('listening soon', flush=True); time.sleep(120)")
    with pytest.raises(EmulatorError, match=r"no answer within 1s(.|\n)*listening soon"):
        launch(kind, tmp_path, tmp_path / "work", timeout_s=1)


def test_a_server_that_answers_is_up_until_stopped(tmp_path):
    kind = _kind(
        "import sys, http.server\n"
        "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), "
        "http.server.SimpleHTTPRequestHandler).serve_forever()"
    )
    emulator = launch(kind, tmp_path, tmp_path / "work")
    try:
        assert emulator.url.startswith("http://127.0.0.1:")
        assert emulator.answers()
    finally:
        emulator.stop()
    assert emulator.process.poll() is not None
    assert not emulator.answers()


def test_the_environment_is_keyed_by_its_pins(tmp_path):
    pins = tmp_path / "requirements.txt"
    pins.write_text("a==1\n")
    kind = EmulatorKind("fake", pins, lambda _r, _p: [], "/")
    before = environment_dir(kind)
    pins.write_text("a==2\n")
    assert environment_dir(kind) != before
    assert environment_dir(kind).name.startswith("fake-")

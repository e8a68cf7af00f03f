"""Secrets stay masked in text and private on disk."""

from __future__ import annotations

import logging
import os
import pickle
import stat
import sys
from pathlib import Path

import pytest

from longwriter_desktop.secret import Secret, mask_secret, write_private_file

KEY = "sk-live-0123456789abcdefQRST"


def test_a_secret_prints_only_its_mask(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret(KEY)
    assert secret.reveal() == KEY
    for shown in (str(secret), repr(secret), f"{secret}", f"{secret!r}", f"{secret:>40}"):
        assert KEY not in shown
        assert "****QRST" in shown
    with caplog.at_level(logging.INFO):
        logging.getLogger("longwriter_desktop.test").info("key is %s / %r", secret, secret)
    assert KEY not in caplog.text
    assert secret.redact(f"server said: bad key {KEY}!") == "server said: bad key ****QRST!"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_short_and_empty_secrets_show_no_characters() -> None:
    assert mask_secret("short-key") == "****"
    assert mask_secret("") == ""
    assert not Secret("")
    assert Secret("abc") == Secret("abc") != Secret("abd")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_private_files_are_written_0600_and_replace_wider_ones(tmp_path: Path) -> None:
    target = tmp_path / "config" / "settings.json"
    write_private_file(target, '{"api_key": "x"}')
    assert target.read_text() == '{"api_key": "x"}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    target.chmod(0o644)
    old_umask = os.umask(0)  # the most permissive umask must not widen the file
    try:
        write_private_file(target, "second")
    finally:
        os.umask(old_umask)
    assert target.read_text() == "second"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["settings.json"]  # no temporary left behind

"""Hub metadata, listings and plain-words errors, against the local Hub server; and that server against
huggingface_hub's own client, so we know it speaks the protocol."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import GatedRepoError

from longwriter_desktop.errors import DownloadError, InputError
from longwriter_desktop.library import download as dl
from longwriter_desktop.library import hub
from longwriter_desktop.testing.hubserver import FakeHub, generated_bytes

TEST_REPO = "longwriter-test/Tiny-GGUF"
GATED_REPO = "longwriter-test/Gated-GGUF"


def test_remote_file_reports_size_commit_and_sha256(fake_hub: FakeHub) -> None:
    data = generated_bytes(300_000, seed=20)
    fake_hub.add_file(TEST_REPO, "m.gguf", data)
    remote = hub.remote_file(TEST_REPO, "m.gguf")
    repo = fake_hub.add_repo(TEST_REPO)
    assert remote.size == len(data)
    assert remote.sha256 == remote.etag == hashlib.sha256(data).hexdigest()
    assert remote.commit == repo.head and remote.revision == "main"
    assert remote.url == f"{fake_hub.endpoint}/{TEST_REPO}/resolve/{repo.head}/m.gguf"


def test_endpoint_is_read_at_call_time(fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    other = FakeHub().start()
    try:
        other.add_file(TEST_REPO, "only-here.gguf", b"GGUF" + bytes(10))
        monkeypatch.setenv("HF_ENDPOINT", other.endpoint + "/")
        assert hub.hub_endpoint() == other.endpoint
        assert hub.remote_file(TEST_REPO, "only-here.gguf").endpoint == other.endpoint
    finally:
        other.stop()


def test_list_gguf_files_with_sizes(fake_hub: FakeHub) -> None:
    fake_hub.add_file(TEST_REPO, "b-Q8_0.gguf", generated_bytes(2000, seed=21))
    fake_hub.add_file(TEST_REPO, "a-Q4_K_M.gguf", generated_bytes(1000, seed=22))
    fake_hub.add_file(TEST_REPO, "split/c-00001-of-00002.gguf", generated_bytes(500, seed=23))
    fake_hub.add_file(TEST_REPO, "README.md", b"# readme\n", lfs=False)
    listed = hub.list_gguf_files(TEST_REPO)
    assert [(f.filename, f.size) for f in listed] == [
        ("a-Q4_K_M.gguf", 1000), ("b-Q8_0.gguf", 2000), ("split/c-00001-of-00002.gguf", 500)]
    assert listed[0].sha256 == hashlib.sha256(generated_bytes(1000, seed=22)).hexdigest()


@pytest.mark.parametrize("text, expected", [
    ("bartowski/Qwen2.5-7B-Instruct-GGUF", "bartowski/Qwen2.5-7B-Instruct-GGUF"),
    ("  owner/name  ", "owner/name"),
    ("gpt2", "gpt2"),
    ("https://huggingface.co/owner/name", "owner/name"),
    ("https://huggingface.co/owner/name/tree/main", "owner/name"),
])
def test_repo_ids_are_tidied(text: str, expected: str) -> None:
    assert hub.check_repo_id(text) == expected


@pytest.mark.parametrize("text", ["", "owner/", "/name", "a/b/c", "owner/na me", "owner/..", "owner/a--b",
                                  "../etc", "owner\\name"])
def test_bad_repo_ids_are_refused_in_plain_words(text: str) -> None:
    with pytest.raises(InputError, match="is not a Hugging Face repository id"):
        hub.check_repo_id(text)


def failure(repo_id: str, filename: str, revision: str | None = None) -> dl.DownloadFailed:
    event = list(dl.download(repo_id, filename, revision))[-1]
    assert isinstance(event, dl.DownloadFailed), event
    return event


def test_missing_repo_file_and_revision_give_plain_messages(fake_hub: FakeHub) -> None:
    fake_hub.add_file(TEST_REPO, "m.gguf", b"GGUF" + bytes(100))
    missing_repo = failure("longwriter-test/No-Such-Repo", "m.gguf")
    assert isinstance(missing_repo.error, InputError)
    assert missing_repo.message.startswith("No model repository called 'longwriter-test/No-Such-Repo'")
    missing_file = failure(TEST_REPO, "other.gguf")
    assert missing_file.message == (f"{TEST_REPO} has no file called 'other.gguf'. List its GGUF files with: "
                                    f"longwriter models files {TEST_REPO}")
    missing_revision = failure(TEST_REPO, "m.gguf", "v9")
    assert missing_revision.message == f"{TEST_REPO} has no branch, tag or commit called 'v9'."
    assert not missing_repo.partial_kept and not missing_file.partial_kept


def test_gated_repo_explains_the_licence_and_token(fake_hub: FakeHub,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    fake_hub.add_repo(GATED_REPO, gated=True)
    data = generated_bytes(500_000, seed=24)
    fake_hub.add_file(GATED_REPO, "g.gguf", data)
    no_token = failure(GATED_REPO, "g.gguf")
    assert isinstance(no_token.error, DownloadError)
    assert "gated model" in no_token.message and "accept it" in no_token.message
    assert f"{fake_hub.endpoint}/{GATED_REPO}" in no_token.message and "HF_TOKEN" in no_token.message

    monkeypatch.setenv("HF_TOKEN", "hf_someone_elses_token")
    wrong_token = failure(GATED_REPO, "g.gguf")
    assert "your Hugging Face token does not have access" in wrong_token.message

    monkeypatch.setenv("HF_TOKEN", fake_hub.token)
    done = list(dl.download(GATED_REPO, "g.gguf"))[-1]
    assert isinstance(done, dl.DownloadDone) and done.path.read_bytes() == data
    # The token went to the Hub, never to the CDN's signed URL (which would refuse it, like S3 does).
    assert [r.authorized for r in fake_hub.requests if r.server == "cdn"] == [False]
    assert any(r.authorized for r in fake_hub.requests if r.server == "hub" and "/resolve/" in r.path)


def test_an_unreachable_hub_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with pytest.raises(DownloadError) as caught:
        hub.list_gguf_files(TEST_REPO)
    assert str(caught.value).startswith(f"Could not reach 127.0.0.1:{port} (HF_ENDPOINT is set to")
    assert "Check your internet connection" in str(caught.value)
    event = list(dl.download(TEST_REPO, "m.gguf"))[-1]
    assert isinstance(event, dl.DownloadFailed) and event.message.startswith("Could not reach")


def test_huggingface_hub_accepts_the_fake_hub(fake_hub: FakeHub, tmp_path: Path) -> None:
    """The server is only useful if the real client takes it for the Hub."""
    data = generated_bytes(1_500_000, seed=25)
    fake_hub.add_file(TEST_REPO, "sub/m.gguf", data)
    fake_hub.add_repo(GATED_REPO, gated=True)
    fake_hub.add_file(GATED_REPO, "g.gguf", b"GGUF" + bytes(10))
    endpoint = fake_hub.endpoint
    path = hf_hub_download(TEST_REPO, "sub/m.gguf", cache_dir=tmp_path, endpoint=endpoint)
    assert Path(path).read_bytes() == data
    api = HfApi(endpoint=endpoint)
    [info] = api.get_paths_info(TEST_REPO, ["sub/m.gguf"])
    assert info.lfs is not None and info.lfs.sha256 == hashlib.sha256(data).hexdigest()
    siblings = {s.rfilename: s.size for s in api.model_info(TEST_REPO, files_metadata=True).siblings or []}
    assert siblings == {"sub/m.gguf": len(data)}
    with pytest.raises(GatedRepoError):
        hf_hub_download(GATED_REPO, "g.gguf", cache_dir=tmp_path / "fresh", endpoint=endpoint)


def test_the_fake_hub_refuses_to_start_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LONGWRITER_FAKE_HUB", raising=False)
    with pytest.raises(RuntimeError, match="fake Hugging Face Hub for tests"):
        FakeHub().start()
    with pytest.raises(ValueError, match="loopback"):
        FakeHub(host="0.0.0.0")

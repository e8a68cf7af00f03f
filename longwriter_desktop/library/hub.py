"""The Hugging Face Hub, through huggingface_hub: file URLs, metadata and GGUF listings, with plain errors.

``HF_ENDPOINT`` (a mirror, or the test server) and ``HF_TOKEN`` are read on every call, not at import time
as huggingface_hub does, so a running app picks up a changed setting.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import DownloadError, InputError
from ..lazyre import lazy_compile

DEFAULT_ENDPOINT = "https://huggingface.co"
DEFAULT_REVISION = "main"

# The Hub's own rule for repo names: letters, digits, '-', '_', '.'; no '--' or '..'; 96 characters at most.
_REPO_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_-])?"
_REPO_ID = lazy_compile(rf"^(?:{_REPO_PART}/)?{_REPO_PART}$")
_SHA256 = lazy_compile(r"^[0-9a-f]{64}$")
_GIT_SHA1 = lazy_compile(r"^[0-9a-f]{40}$")
# Exceptions from these packages are network failures (huggingface_hub has used requests, httpx and httpx2).
_NETWORK_MODULES = ("httpx", "httpx2", "httpcore", "httpcore2", "requests", "urllib3")


@dataclass(frozen=True)
class RemoteFile:
    """A file on the Hub, pinned to the commit that the requested revision pointed to."""

    repo_id: str
    filename: str
    revision: str  # as asked: a branch, tag or commit
    commit: str
    size: int
    etag: str
    sha256: str | None  # None for a file kept in git rather than LFS (then git_sha1 is known)
    git_sha1: str | None
    url: str  # the resolve URL at `commit`: the bytes behind it cannot change
    endpoint: str


@dataclass(frozen=True)
class RepoGGUF:
    """A .gguf file listed in a repo."""

    filename: str
    size: int
    sha256: str | None


def hub_endpoint() -> str:
    """The Hub's base URL: HF_ENDPOINT when set, else huggingface.co."""
    return (os.environ.get("HF_ENDPOINT", "").strip() or DEFAULT_ENDPOINT).rstrip("/")


def hub_token() -> str | None:
    """The access token: HF_TOKEN, else the one saved by `hf auth login`, else None."""
    value = os.environ.get("HF_TOKEN", "").strip()
    if value:
        return value
    from huggingface_hub import get_token

    try:
        return get_token()
    except Exception:  # a broken token file or OIDC setup must not block public downloads
        return None


def check_repo_id(repo_id: str) -> str:
    """The repo id without surrounding spaces or a pasted Hub URL; InputError when it cannot be one."""
    value = repo_id.strip()
    for prefix in (hub_endpoint() + "/", DEFAULT_ENDPOINT + "/", "https://hf.co/"):
        if value.startswith(prefix):  # someone pasted the repo's page address
            value = "/".join(value[len(prefix) :].split("/")[:2])
    if not _REPO_ID.match(value) or "--" in value or ".." in value:
        raise InputError(
            f"'{repo_id}' is not a Hugging Face repository id. Use the form owner/name, "
            "for example bartowski/Qwen2.5-7B-Instruct-GGUF."
        )
    return value


def resolve_url(repo_id: str, filename: str, revision: str, endpoint: str | None = None) -> str:
    """The download URL of a file at a revision."""
    from huggingface_hub import hf_hub_url

    return hf_hub_url(repo_id, filename, revision=revision, endpoint=endpoint or hub_endpoint())


def remote_file(repo_id: str, filename: str, revision: str | None = None) -> RemoteFile:
    """Size, commit, etag and sha256 of one file; DownloadError/InputError in plain words."""
    from huggingface_hub import HfApi, get_hf_file_metadata

    repo_id = check_repo_id(repo_id)
    revision = revision or DEFAULT_REVISION
    endpoint, token = hub_endpoint(), hub_token()
    with hub_errors(repo_id, filename=filename, revision=revision, token=token):
        meta = get_hf_file_metadata(resolve_url(repo_id, filename, revision, endpoint), token=token,
                                    endpoint=endpoint)
        if not meta.commit_hash or meta.size is None or not meta.etag:
            raise DownloadError(
                f"{endpoint} did not answer like the Hugging Face Hub (no commit, size or etag for "
                f"{filename}). If HF_ENDPOINT points to a mirror, check that it is a Hub mirror."
            )
        sha256: str | None = None
        git_sha1: str | None = None
        try:
            infos = HfApi(endpoint=endpoint, token=token).get_paths_info(repo_id, [filename],
                                                                          revision=meta.commit_hash)
        except Exception as exc:
            if not _is_http_status(exc, 404):  # some mirrors lack paths-info: fall back to the etag
                raise
            infos = []
        for info in infos:
            if getattr(info, "path", None) == filename:
                lfs = getattr(info, "lfs", None)
                sha256 = getattr(lfs, "sha256", None) if lfs is not None else None
                if lfs is None:
                    git_sha1 = getattr(info, "blob_id", None)
        etag = meta.etag.strip('"').lower()
        if sha256 is None and git_sha1 is None:
            # For LFS files the Hub's etag is the sha256; for files in git it is the git blob id.
            sha256 = etag if _SHA256.match(etag) else None
            git_sha1 = etag if _GIT_SHA1.match(etag) else None
        if sha256 is None and git_sha1 is None:
            raise DownloadError(
                f"{endpoint} gave no checksum for {filename}, so a download could not be verified."
            )
    return RemoteFile(repo_id, filename, revision, meta.commit_hash, int(meta.size), etag, sha256,
                      git_sha1, resolve_url(repo_id, filename, meta.commit_hash, endpoint), endpoint)


def list_gguf_files(repo_id: str, revision: str | None = None) -> list[RepoGGUF]:
    """Every .gguf file in a repo (subfolders too), with sizes, sorted by path."""
    from huggingface_hub import HfApi

    repo_id = check_repo_id(repo_id)
    revision = revision or DEFAULT_REVISION
    token = hub_token()
    found: list[RepoGGUF] = []
    with hub_errors(repo_id, revision=revision, token=token):
        # model_info with blobs lists every file with its size in one request; list_repo_tree would too,
        # but it retries for 20+ seconds when offline before it gives up.
        info = HfApi(endpoint=hub_endpoint(), token=token).model_info(repo_id, revision=revision,
                                                                      files_metadata=True)
        for sibling in info.siblings or []:
            path = sibling.rfilename
            if path.lower().endswith(".gguf") and sibling.size is not None:
                sha256 = sibling.lfs.sha256 if sibling.lfs is not None else None
                found.append(RepoGGUF(path, int(sibling.size), sha256))
    return sorted(found, key=lambda f: f.filename)


@contextmanager
def hub_errors(repo_id: str, *, filename: str | None = None, revision: str | None = None,
               token: str | None = None) -> Iterator[None]:
    """Turn huggingface_hub and network exceptions into errors a user can act on."""
    from huggingface_hub import errors as hf_errors

    endpoint = hub_endpoint()
    page = f"{endpoint}/{repo_id}"
    try:
        yield
    except (DownloadError, InputError):
        raise
    except hf_errors.GatedRepoError as exc:
        if token:
            raise DownloadError(
                f"{repo_id} is a gated model and your Hugging Face token does not have access to it yet. "
                f"Open {page} while logged in, accept its licence, and try again."
            ) from exc
        raise DownloadError(
            f"{repo_id} is a gated model: its owners ask you to accept a licence first. Open {page} while "
            f"logged in and accept it, then create a read token at {endpoint}/settings/tokens and set it "
            "in the HF_TOKEN environment variable (or run `hf auth login`), and try again."
        ) from exc
    except hf_errors.RepositoryNotFoundError as exc:
        private_hint = (
            "If it is private, check that your token (HF_TOKEN) can read it."
            if token else
            "If it is private or gated, set HF_TOKEN to an access token from "
            f"{endpoint}/settings/tokens."
        )
        raise InputError(
            f"No model repository called '{repo_id}' was found on {_host(endpoint)}. Check the spelling. "
            + private_hint
        ) from exc
    except hf_errors.RevisionNotFoundError as exc:
        raise InputError(f"{repo_id} has no branch, tag or commit called '{revision}'.") from exc
    except hf_errors.EntryNotFoundError as exc:
        at = f" (at revision '{revision}')" if revision and revision != DEFAULT_REVISION else ""
        raise InputError(
            f"{repo_id} has no file called '{filename}'{at}. "
            f"List its GGUF files with: longwriter models files {repo_id}"
        ) from exc
    except hf_errors.OfflineModeIsEnabled as exc:
        raise DownloadError(
            "Downloads are switched off because HF_HUB_OFFLINE is set. Unset it to download models."
        ) from exc
    except hf_errors.HfHubHTTPError as exc:
        raise DownloadError(_http_message(exc, endpoint, token)) from exc
    except hf_errors.HFValidationError as exc:
        raise InputError(f"Invalid request to the Hub: {exc}") from exc
    except Exception as exc:
        if not _is_network_error(exc):
            raise
        where = f" (HF_ENDPOINT is set to {endpoint})" if endpoint != DEFAULT_ENDPOINT else ""
        raise DownloadError(
            f"Could not reach {_host(endpoint)}{where}: {_reason(exc)}. Check your internet connection "
            "and try again."
        ) from exc


def _http_message(exc: Exception, endpoint: str, token: str | None) -> str:
    status = _status(exc)
    if status == 401:
        return (
            f"The Hub refused your access token{' (HF_TOKEN)' if token else ''}. Check it, or create a new "
            f"one at {endpoint}/settings/tokens."
        )
    if status == 403:
        return "The Hub refused access to this file: your token may lack read permission for this repository."
    if status == 429:
        return "The Hub is limiting how many requests you make. Wait a few minutes and try again."
    if status is not None and status >= 500:
        return f"The Hub had a server problem (HTTP {status}). Try again in a few minutes."
    return f"The Hub answered with an error (HTTP {status}): {str(exc).splitlines()[0]}"


def _status(exc: Exception) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _is_http_status(exc: Exception, status: int) -> bool:
    from huggingface_hub import errors as hf_errors

    return isinstance(exc, hf_errors.HfHubHTTPError) and _status(exc) == status


def _is_network_error(exc: BaseException) -> bool:
    for cls in type(exc).__mro__:
        if cls.__module__.split(".")[0] in _NETWORK_MODULES:
            return True
    return isinstance(exc, (ConnectionError, TimeoutError, OSError))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "refused" in text.lower():
        return "the connection was refused"
    if "timed out" in text.lower() or isinstance(exc, TimeoutError):
        return "the connection timed out"
    if "name or service not known" in text.lower() or "getaddrinfo" in text.lower():
        return "the name could not be looked up (no internet connection?)"
    return text.splitlines()[0]


def _host(endpoint: str) -> str:
    return urlsplit(endpoint).netloc or endpoint

"""Talking to the Hugging Face Hub through `huggingface_hub`: file metadata and byte ranges.

The Hub is reached at `HF_ENDPOINT` (read when a download starts, so a mirror or a test
server can stand in) with the token from `HF_TOKEN` for gated models. Metadata comes from
`get_hf_file_metadata`; the bytes from a ranged GET on huggingface_hub's own HTTP session,
so a download can stop between any two chunks and pick up where its partial file ends.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.core.errors import ExitCode, TandemError

logger = logging.getLogger(__name__)

_SHA256 = re.compile(r"[0-9a-f]{64}")
_CONNECT_TIMEOUT_S = 20.0
_READ_TIMEOUT_S = 60.0


class DownloadError(TandemError):
    """A model could not be downloaded; the message says why and what to do."""

    kind = "download"
    exit_code = ExitCode.DOWNLOAD


@dataclass(frozen=True, slots=True)
class RemoteFile:
    repo: str
    file: str
    revision: str
    url: str  # where the bytes come from, after the Hub's redirect to its CDN
    size_bytes: int | None
    sha256: str | None  # the LFS sha256 from X-Linked-Etag
    commit: str | None
    send_token: bool  # the bytes come from the Hub itself, not a signed CDN address


def hub_endpoint() -> str:
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _hub_error(exc: Exception, repo: str, file: str, token: str | None) -> DownloadError:
    import httpx2
    from huggingface_hub import errors

    page = f"{hub_endpoint()}/{repo}"
    if isinstance(exc, errors.GatedRepoError):
        if token:
            return DownloadError(
                f"{repo} is gated on Hugging Face and the token in HF_TOKEN has no access to "
                f"it. Accept the model's licence at {page} with that account, then try again."
            )
        return DownloadError(
            f"{repo} is gated on Hugging Face. Accept its licence at {page}, create an "
            "access token in your Hugging Face settings, set HF_TOKEN to it and try again."
        )
    if isinstance(exc, errors.RepositoryNotFoundError):
        return DownloadError(
            f"Hugging Face has no repo {repo}, or it is private (set HF_TOKEN to a token "
            "that may read it). The catalog may be out of date; update Tandem."
        )
    if isinstance(exc, errors.RevisionNotFoundError | errors.RemoteEntryNotFoundError):
        return DownloadError(
            f"{repo} on Hugging Face has no file {file}. The catalog may be out of date; "
            "update Tandem or import the file yourself with “Import GGUF…”."
        )
    if isinstance(exc, errors.OfflineModeIsEnabled):
        return DownloadError(
            "Downloads are switched off (HF_HUB_OFFLINE is set). Unset it to download models."
        )
    if isinstance(exc, errors.HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else "an error"
        return DownloadError(f"Hugging Face answered {status} for {repo}/{file}. Try again later.")
    if isinstance(exc, errors.FileMetadataError):
        return DownloadError(
            f"{hub_endpoint()} does not answer like the Hugging Face Hub ({exc}). Check "
            "HF_ENDPOINT, your proxy or firewall."
        )
    if isinstance(exc, httpx2.HTTPError | OSError):
        return DownloadError(
            f"Could not reach Hugging Face at {hub_endpoint()} ({type(exc).__name__}: {exc}). "
            "Check the network connection and try again."
        )
    return DownloadError(f"The download of {repo}/{file} failed: {exc}")


def hub_token() -> str | None:
    from huggingface_hub import get_token

    return get_token()


def resolve_remote(
    repo: str, file: str, revision: str = "main", token: str | None = None
) -> RemoteFile:
    """Ask the Hub where `file` lives, how big it is and what its sha256 is."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    endpoint = hub_endpoint()
    url = hf_hub_url(repo, file, revision=revision, endpoint=endpoint)
    try:
        meta = get_hf_file_metadata(url, token=token or None, endpoint=endpoint)
    except Exception as exc:  # every failure becomes one human message
        logger.info("metadata of %s/%s failed: %r", repo, file, exc)
        raise _hub_error(exc, repo, file, token) from exc
    etag = (meta.etag or "").strip('"').lower()
    location = meta.location or url
    return RemoteFile(
        repo=repo,
        file=file,
        revision=revision,
        url=location,
        size_bytes=meta.size,
        sha256=etag if _SHA256.fullmatch(etag) else None,
        commit=meta.commit_hash,
        send_token=_origin(location) == _origin(url),
    )


@dataclass
class RangeResponse:
    """An open GET: `start` is where its bytes begin in the file (0 if the server ignored
    the Range header), `chunks` yields them, `abort()` (from any thread) ends a read that
    is waiting on a silent server."""

    start: int
    total_bytes: int | None
    chunks: Iterator[bytes]
    abort: Callable[[], None]


def _aborter(response: Any) -> Callable[[], None]:
    def abort() -> None:
        # Closing the response from another thread does not wake a blocked read;
        # shutting the socket down does.
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    return abort


@contextmanager
def open_range(
    remote: RemoteFile, start: int, token: str | None, chunk_bytes: int
) -> Iterator[RangeResponse | None]:
    """GET the file from byte `start`; yields None when there is nothing left to fetch."""
    import httpx2
    from huggingface_hub import get_session, hf_raise_for_status
    from huggingface_hub.utils._headers import build_hf_headers

    headers = build_hf_headers(token=token if remote.send_token else False)
    if not remote.send_token:
        headers.pop("authorization", None)
    headers["Accept-Encoding"] = "identity"
    if start:
        headers["Range"] = f"bytes={start}-"
    timeout = httpx2.Timeout(_READ_TIMEOUT_S, connect=_CONNECT_TIMEOUT_S)
    with get_session().stream("GET", remote.url, headers=headers, timeout=timeout) as response:
        if response.status_code == 416:
            yield None
            return
        if response.status_code >= 400:
            response.read()
            try:
                hf_raise_for_status(response)
            except Exception as exc:  # mapped to one human message
                raise _hub_error(exc, remote.repo, remote.file, token) from exc
        begins = start if response.status_code == 206 else 0
        length = response.headers.get("Content-Length")
        total = begins + int(length) if length and length.isdigit() else None
        yield RangeResponse(begins, total, response.iter_bytes(chunk_bytes), _aborter(response))

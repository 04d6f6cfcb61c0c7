"""The Hugging Face Hub, through huggingface_hub (the optional extra `hub`): download an exported
folder, upload one. Only these two functions touch the network; every failure is one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flowmatch.errors import FlowmatchError

EXTRA = "pip install 'flowmatch[hub]'"
PATTERNS = ["*.json", "*.safetensors", "*.md", "*.png"]  # an export's files: never a pickle


def _hub():
    try:
        import huggingface_hub
    except ImportError:
        raise FlowmatchError(f"the Hugging Face Hub needs the huggingface_hub package: {EXTRA}") from None
    return huggingface_hub


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def download(repo_id: str, *, revision: str | None = None, token: str | None = None, cache_dir: str | None = None, local_files_only: bool = False) -> Path:
    """The local folder of a Hub model repository's export files (cached by huggingface_hub)."""
    hub = _hub()
    try:
        folder = hub.snapshot_download(repo_id, revision=revision, token=token, cache_dir=cache_dir, local_files_only=local_files_only, allow_patterns=PATTERNS)
    except Exception as exc:  # no network, no such repository, no access, ...: one line
        raise FlowmatchError(f"cannot fetch {repo_id} from the Hugging Face Hub ({_line(exc)})") from None
    return Path(folder)


def upload_folder(folder: Path, repo_id: str, *, token: str | None = None, private: bool = False, commit_message: str = "Upload flowmatch model", **kwargs: Any) -> str:
    """Create (if needed) the model repository `repo_id` and upload `folder` to it; its URL."""
    hub = _hub()
    try:
        api = hub.HfApi(token=token)
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="model", commit_message=commit_message, allow_patterns=PATTERNS, **kwargs)
    except Exception as exc:
        raise FlowmatchError(f"cannot push to {repo_id} on the Hugging Face Hub ({_line(exc)}); the export in {folder} is kept") from None
    return f"https://huggingface.co/{repo_id}"


__all__ = ["download", "upload_folder"]

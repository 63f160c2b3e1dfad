"""Adapter manifests: what each trained LoRA adapter is, what it was trained on, and how well it did.

Weights under adapters/NAME/ are git-ignored; adapters/NAME/manifest.json is kept, so anyone can
see which base model, data and settings produced an adapter and whether it passed evaluation. A small
adapter may be kept whole: adapters/glossary-gemma3-270m's weights (5.9 MB) are committed with `git add -f`.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from agent.settings import REPO_ROOT, Settings

ADAPTERS_DIR = REPO_ROOT / "adapters"
MANIFEST = "manifest.json"
WEIGHTS = "adapter_model.safetensors"
ACCURACY_MEASURED_ON = "heldout_forms"  # trained terms asked in phrasings never seen in training


class AdapterError(Exception):
    """An adapter cannot be used; the message says which one and why."""


class AdapterMissingError(AdapterError):
    """No adapter weights or no manifest where one was expected."""


class AdapterBelowBarError(AdapterError):
    """The adapter was never evaluated, or its accuracy is below the required bar."""


@dataclass
class AdapterManifest:
    name: str
    base_model: str
    dataset_hash: str
    hyperparameters: dict
    created_at: str
    training: dict = field(default_factory=dict)  # eval loss per epoch, best loss, duration, device
    trained_terms: dict[str, str] = field(default_factory=dict)  # term key -> fingerprint of its answers
    new_terms: list[str] = field(default_factory=list)  # for incremental runs: terms this run added
    parent_adapter: str = ""
    metrics: dict = field(default_factory=dict)  # {"base": {...}, "adapter": {...}} from `python -m train eval`
    accuracy: float | None = None  # the adapter's accuracy on ACCURACY_MEASURED_ON; None until evaluated
    accuracy_measured_on: str = ""
    evaluated_at: str = ""
    eval_dataset_hash: str = ""

    @classmethod
    def from_dict(cls, record: dict) -> "AdapterManifest":
        known = {item.name for item in fields(cls)}
        return cls(**{name: value for name, value in record.items() if name in known})


def manifest_path(adapter_dir: Path) -> Path:
    return Path(adapter_dir) / MANIFEST


def read_manifest(adapter_dir: Path) -> AdapterManifest:
    path = manifest_path(adapter_dir)
    if not path.is_file():
        raise AdapterMissingError(f"{adapter_dir} has no {MANIFEST}; train it with `python -m train lora`")
    try:
        return AdapterManifest.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, TypeError) as exc:
        raise AdapterError(f"{path} is not a valid adapter manifest: {exc}") from exc


def write_manifest(adapter_dir: Path, manifest: AdapterManifest) -> Path:
    """Write atomically, so a reader never sees half a manifest."""
    path = manifest_path(adapter_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".manifest.", suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(json.dumps(asdict(manifest), ensure_ascii=False, indent=2) + "\n")
    os.chmod(temporary, 0o644)  # mkstemp makes it private; a manifest is meant to be read and committed
    os.replace(temporary, path)
    return path


def list_adapters(root: Path = ADAPTERS_DIR) -> list[tuple[Path, AdapterManifest]]:
    """Every adapters/NAME folder holding a readable manifest, by name."""
    found = []
    for path in sorted(Path(root).glob(f"*/{MANIFEST}")):
        try:
            found.append((path.parent, read_manifest(path.parent)))
        except AdapterError:
            continue
    return found


def check_adapter(adapter_dir: Path, min_accuracy: float = Settings.term_min_accuracy) -> AdapterManifest:
    """The manifest of a usable adapter: weights present, evaluated, accuracy at or above the bar."""
    adapter_dir = Path(adapter_dir)
    if not (adapter_dir / WEIGHTS).is_file() and not (adapter_dir / "adapter_model.bin").is_file():
        raise AdapterMissingError(f"{adapter_dir} holds no adapter weights ({WEIGHTS}); train it or fix KB_TERM_ADAPTER")
    manifest = read_manifest(adapter_dir)
    if manifest.accuracy is None:
        raise AdapterBelowBarError(
            f"adapter {manifest.name} was never evaluated; run `python -m train eval --adapter {adapter_dir}`"
        )
    if manifest.accuracy < min_accuracy:
        raise AdapterBelowBarError(
            f"adapter {manifest.name} scored {manifest.accuracy:.1%} on {manifest.accuracy_measured_on or 'evaluation'},"
            f" below the required {min_accuracy:.1%} (KB_TERM_MIN_ACCURACY)"
        )
    return manifest

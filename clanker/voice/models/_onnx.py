"""Opening ONNX models on onnxruntime, with errors that say which package or file is missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .base import ModelError


def open_session(path: Path, *, what: str, threads: int) -> Any:
    """An onnxruntime CPU session of `path` with its own `threads` intra-op threads.

    Each model gets its own session and thread budget so one model's burst cannot starve
    another's; on a 2-core machine the callers keep these at 1.
    """
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise ModelError(
            f"{what}: the onnxruntime package is not installed ({e}); run scripts/bootstrap"
        ) from e
    if not path.is_file():
        raise ModelError(f"{what}: model file {path} does not exist")
    if threads < 1:
        raise ModelError(f"{what}: threads must be at least 1, not {threads}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only: the models' benign graph warnings are noise
    try:
        return ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as e:  # onnxruntime raises its own untyped errors for a bad file
        raise ModelError(f"{what}: onnxruntime could not load {path}: {e}") from e

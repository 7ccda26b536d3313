"""`clanker.store.vector_codes`: the codebook and the 3-bit thermometer codes, exactly, without
SQLite."""

from __future__ import annotations

import numpy as np
import pytest

from clanker.store.vector_codes import (
    THRESHOLDS,
    Codebook,
    code_bits,
    encode,
    fit_codebook,
    hamming,
)


def unit_book(dims: int) -> Codebook:
    return Codebook(np.zeros(dims, np.float32), np.ones(dims, np.float32))


def test_a_code_is_three_bit_planes_packed_most_significant_first() -> None:
    (code,) = encode(unit_book(8), [-1.0, -0.5, 0.5, 1.0, 0.0, 0.7, -0.7, 2.0])
    # above -0.6745: 0 1 1 1 1 1 0 1; above 0: 0 0 1 1 0 1 0 1; above 0.6745: 0 0 0 1 0 1 0 1
    assert code == bytes([0b01111101, 0b00110101, 0b00010101])
    assert code_bits(384) == 1152 == 384 * len(THRESHOLDS)


def test_centre_and_scale_are_applied_before_cutting() -> None:
    book = Codebook(np.full(8, 0.5, np.float32), np.full(8, 0.1, np.float32))
    # 0.5 ± 0.1·z: z = -1, -0.5, 0.5, 1, 0, 0.7, -0.7, 2 as above
    values = 0.5 + 0.1 * np.array([-1.0, -0.5, 0.5, 1.0, 0.0, 0.7, -0.7, 2.0])
    assert encode(book, values) == [bytes([0b01111101, 0b00110101, 0b00010101])]


def test_hamming_of_codes_is_the_l1_distance_of_the_quartile_bins() -> None:
    book = unit_book(8)
    a, b = encode(book, [[-1.0] * 8, [-1.0, -0.5, 0.5, 1.0, -1.0, -1.0, -1.0, -1.0]])
    # bins (0 = below -0.6745 … 3 = above 0.6745): a is all 0; b is 0 1 2 3 0 0 0 0
    assert hamming(a, b) == 0 + 1 + 2 + 3
    assert hamming(a, a) == 0
    with pytest.raises(ValueError, match="codes of 3 and 2 bytes"):
        hamming(a, b[:2])


def test_fit_codebook_is_the_mean_and_the_standard_deviation() -> None:
    book = fit_codebook([[1.0, 2.0, 5.0], [3.0, 2.0, 1.0]])
    assert book.centre.tolist() == [2.0, 2.0, 3.0]
    assert book.scale.tolist() == pytest.approx([1.0, 1e-6, 2.0])  # a flat dimension: 1e-6
    back = Codebook.from_blobs(*book.to_blobs())
    assert (back.centre.tolist(), back.scale.tolist()) == (
        book.centre.tolist(),
        book.scale.tolist(),
    )


def test_bad_input_is_refused_with_what_is_wrong() -> None:
    with pytest.raises(ValueError, match=r"at least 2 vectors as rows, got shape \(1, 3\)"):
        fit_codebook([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="vectors have 3 numbers, the codebook 8"):
        encode(unit_book(8), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="scale positive"):
        Codebook(np.zeros(2, np.float32), np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="equal 1-d arrays"):
        Codebook(np.zeros(2, np.float32), np.ones(3, np.float32))

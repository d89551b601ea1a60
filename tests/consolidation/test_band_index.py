"""The band index finds exactly the texts sharing a band key, and this machine's copies stay bounded."""

import os

import numpy as np

from consolidation import grouping
from consolidation.services import band_index


def _texts(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Digests and block keys of texts that share some blocks (so some bands) with each other."""
    randomly = np.random.default_rng(seed)
    blocks = randomly.integers(-(2**63), 2**63 - 1, size=(count, grouping.BLOCKS), dtype=np.int64)
    for row in range(1, count):
        if randomly.random() < 0.6:  # copy a few blocks of an earlier text
            other = int(randomly.integers(0, row))
            shared = randomly.choice(grouping.BLOCKS, size=int(randomly.integers(1, 6)), replace=False)
            blocks[row, shared] = blocks[other, shared]
    return randomly.integers(1, 2**62, size=count, dtype=np.int64), blocks


def _brute_force(stored_bands: np.ndarray, stored_digests: np.ndarray, bands: np.ndarray) -> set[tuple[int, int]]:
    found = set()
    for row in range(bands.shape[0]):
        for text in range(stored_bands.shape[0]):
            if np.intersect1d(bands[row], stored_bands[text]).size:
                found.add((row, int(stored_digests[text])))
    return found


def test_the_candidates_are_the_texts_sharing_any_band_key():
    digests, blocks = _texts(300, seed=1)
    stored, asked = slice(0, 240), slice(240, 300)
    packed = band_index.BandIndex.build(digests[stored], blocks[stored], grouping.bands_of(blocks[stored]))
    index = band_index.BandIndex.of(packed)

    rows, places = index.candidates(grouping.bands_of(blocks[asked]))
    found = index.digests[places]

    expected = _brute_force(grouping.bands_of(blocks[stored]), digests[stored], grouping.bands_of(blocks[asked]))
    assert expected  # the texts do share bands
    assert set(zip(rows.tolist(), found.tolist(), strict=True)) == expected


def test_a_packed_index_is_read_back_as_it_was_built():
    digests, blocks = _texts(50, seed=2)
    packed = band_index.BandIndex.build(digests, blocks, grouping.bands_of(blocks))
    index = band_index.BandIndex.of(packed)

    assert index.digests.tolist() == digests.tolist()
    assert index.blocks.tolist() == blocks.tolist()
    assert index.keys.size == 50 * grouping.BANDS
    assert np.all(np.diff(index.keys.astype(np.int64)) >= 0)
    # Another build of the same texts is another index: its own token.
    assert band_index.BandIndex.of(band_index.BandIndex.build(digests, blocks, grouping.bands_of(blocks))).token != (
        index.token
    )


def test_this_machine_s_copies_are_pruned_least_recently_used_first(settings, tmp_path):
    settings.GROUPING_CACHE_DIR = str(tmp_path)
    digests, blocks = _texts(40, seed=3)
    packed = [band_index.BandIndex.build(digests, blocks, grouping.bands_of(blocks)) for _ in range(4)]
    settings.GROUPING_CACHE_BYTES = 3 * len(packed[0])
    for when, one in enumerate(packed[:3]):
        band_index.keep_locally(one)
        path = tmp_path / f"{band_index.BandIndex.of(one).token.hex()}.gbi"
        os.utime(path, (1_000_000 + when, 1_000_000 + when))
    os.utime(tmp_path / f"{band_index.BandIndex.of(packed[0]).token.hex()}.gbi")  # the first, used just now

    band_index.keep_locally(packed[3])

    kept = {path.name for path in tmp_path.glob("*.gbi")}
    names = [f"{band_index.BandIndex.of(one).token.hex()}.gbi" for one in packed]
    assert kept == {names[0], names[2], names[3]}  # the second went: the least recently used
    assert not list(tmp_path.glob("*.part"))


def test_the_texts_keys_are_read_back_in_the_index_s_order():
    keys = ["alpha beta", "", "đồng ý với đề xuất", "x" * 5000]
    text_keys = band_index.TextKeys(band_index.TextKeys.pack(keys))

    assert text_keys.count == 4
    assert text_keys.at([2, 0, 3, 1]) == [keys[2], keys[0], keys[3], keys[1]]

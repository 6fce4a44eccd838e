"""EXT_meshopt_compression codecs: attributes (mode 0) and indices (mode 2), in numpy.

The attribute codec stores, per block of up to 256 elements and per byte of the element,
the zigzag-encoded byte deltas from the previous element in groups of 16, each group as
nothing (all zero), 2-bit or 4-bit values with the out-of-range ones following as bytes,
or 16 raw bytes, whichever is smallest; the baseline element closes the stream. The index
codec stores zigzag deltas between consecutive indices as LEB128 varints. Both follow the
bitstream of the extension's specification (Appendix A), so CesiumJS's meshopt decoder
reads them; the decoders here serve the checks and tests.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tiles.errors import TilesError

ATTRIBUTE_HEADER = 0xA0
INDEX_HEADER = 0xD1
_GROUP = 16
_TAIL = 32
_MODE_SIZES = (0, 4, 8, 16)  # packed bytes of a group in modes 0..3, before the extras
_WIDTHS = (0, 2, 4, 8)

Bytes = npt.NDArray[np.uint8]


def block_elements(stride: int) -> int:
    """How many elements one attribute block holds."""
    return min((8192 // stride) & ~15, 256)


def encode_attributes(data: bytes, stride: int) -> bytes:
    """Compress ``data`` (elements of ``stride`` bytes) with the attribute codec."""
    if stride % 4 or not 0 < stride <= 256 or len(data) % stride:
        raise TilesError(f"attribute data of {len(data)} bytes cannot have a stride of {stride}")
    elements = np.frombuffer(data, dtype=np.uint8).reshape(-1, stride)
    count = len(elements)
    if count == 0:
        return bytes([ATTRIBUTE_HEADER]) + bytes(max(_TAIL, stride))
    baseline = elements[0]
    previous = np.vstack([baseline, elements[:-1]])
    zigzag = _zigzag(elements - previous)
    size = block_elements(stride)
    pieces = [bytes([ATTRIBUTE_HEADER])]
    full = count // size
    if full:
        pieces.append(_encode_blocks(zigzag[: full * size].reshape(full, size, stride)))
    if count % size:
        pieces.append(_encode_blocks(zigzag[full * size :][None]))
    pieces.append(bytes(max(_TAIL, stride) - stride) + baseline.tobytes())
    return b"".join(pieces)


def _zigzag(delta: Bytes) -> Bytes:
    signed = delta.view(np.int8).astype(np.int16)
    return (((signed << 1) ^ (signed >> 7)) & 0xFF).astype(np.uint8)


def _encode_blocks(zigzag: Bytes) -> bytes:
    """Blocks of equal element count ``(blocks, elements, stride)`` of zigzag deltas."""
    blocks, elements, stride = zigzag.shape
    groups = -(-elements // _GROUP)
    padded = np.zeros((blocks, groups * _GROUP, stride), dtype=np.uint8)
    padded[:, :elements] = zigzag
    # (blocks, stride, groups, 16): the deltas of byte k of every element of a group
    values = padded.reshape(blocks, groups, _GROUP, stride).transpose(0, 3, 1, 2)
    sizes = np.stack(
        [
            np.where(np.count_nonzero(values, axis=-1), 1 << 30, 0),
            4 + np.count_nonzero(values >= 3, axis=-1),
            8 + np.count_nonzero(values >= 15, axis=-1),
            np.full(values.shape[:-1], 16),
        ]
    )
    mode = np.argmin(sizes, axis=0)  # (blocks, stride, groups)
    payload, lengths = _group_payloads(values, mode)
    header_bytes = -(-groups // 4)
    header_modes = np.zeros((blocks, stride, header_bytes * 4), dtype=np.uint8)
    header_modes[..., :groups] = mode
    quads = header_modes.reshape(blocks, stride, header_bytes, 4)
    header = quads[..., 0] | (quads[..., 1] << 2) | (quads[..., 2] << 4) | (quads[..., 3] << 6)
    combined = np.concatenate([header, payload.reshape(blocks, stride, -1)], axis=-1)
    keep = np.concatenate(
        [
            np.ones((blocks, stride, header_bytes), dtype=bool),
            (np.arange(payload.shape[-1]) < lengths[..., None]).reshape(blocks, stride, -1),
        ],
        axis=-1,
    )
    return combined[keep].tobytes()


def _group_payloads(values: Bytes, mode: npt.NDArray[np.int64]) -> tuple[Bytes, np.ndarray]:
    """Each group's bytes (padded to 32) and their count, by the group's mode."""
    shape = values.shape[:-1]
    payload = np.zeros((*shape, 32), dtype=np.uint8)
    lengths = np.zeros(shape, dtype=np.int64)
    for chosen in (1, 2):
        width = _WIDTHS[chosen]
        sentinel = (1 << width) - 1
        where = mode == chosen
        group = values[where]  # (n, 16)
        if len(group) == 0:
            continue
        extra = group >= sentinel
        packed_values = np.minimum(group, sentinel).reshape(len(group), -1, 8 // width)
        packed = np.zeros(packed_values.shape[:2], dtype=np.uint8)
        for slot in range(8 // width):  # most significant first
            packed |= packed_values[..., slot] << np.uint8(8 - width * (slot + 1))
        order = np.argsort(~extra, axis=1, kind="stable")
        extras = np.take_along_axis(group, order, axis=1)
        rows = np.concatenate([packed, extras, np.zeros((len(group), 32 - 16 - packed.shape[1]),
                                                        dtype=np.uint8)], axis=1)  # fmt: skip
        payload[where] = rows
        lengths[where] = _MODE_SIZES[chosen] + extra.sum(axis=1)
    raw = mode == 3
    payload[raw, :16] = values[raw]
    lengths[raw] = 16
    return payload, lengths


def decode_attributes(data: bytes, count: int, stride: int) -> bytes:
    """Decompress an attribute stream into ``count`` elements of ``stride`` bytes."""
    if not data or data[0] != ATTRIBUTE_HEADER:
        raise TilesError("not a meshopt attribute stream (header 0xa0)")
    tail = max(_TAIL, stride)
    if len(data) < 1 + tail:
        raise TilesError("meshopt attribute stream too short")
    previous = np.frombuffer(data[len(data) - stride :], dtype=np.uint8).copy()
    out = np.zeros((count, stride), dtype=np.uint8)
    position, size, done = 1, block_elements(stride), 0
    while done < count:
        elements = min(size, count - done)
        groups = -(-elements // _GROUP)
        deltas = np.zeros((groups * _GROUP, stride), dtype=np.uint8)
        for k in range(stride):
            header = data[position : position + -(-groups // 4)]
            position += len(header)
            for g in range(groups):
                mode = (header[g // 4] >> (2 * (g % 4))) & 3
                values, position = _decode_group(data, position, mode)
                deltas[g * _GROUP : (g + 1) * _GROUP, k] = values
        signed = (deltas >> 1).astype(np.int16) ^ -(deltas & 1).astype(np.int16)
        block = np.cumsum(signed[:elements].astype(np.int64), axis=0) + previous
        out[done : done + elements] = (block & 0xFF).astype(np.uint8)
        previous = out[done + elements - 1].copy()
        done += elements
    if len(data) - position != tail:
        raise TilesError("meshopt attribute stream has extra or missing bytes")
    return out.tobytes()


def _decode_group(data: bytes, position: int, mode: int) -> tuple[Bytes, int]:
    if mode == 0:
        return np.zeros(_GROUP, dtype=np.uint8), position
    if mode == 3:
        return np.frombuffer(data[position : position + _GROUP], np.uint8), position + _GROUP
    width = _WIDTHS[mode]
    packed = np.frombuffer(data[position : position + _MODE_SIZES[mode]], dtype=np.uint8)
    position += _MODE_SIZES[mode]
    shifts = np.arange(8 - width, -1, -width, dtype=np.uint8)
    values = ((packed[:, None] >> shifts) & ((1 << width) - 1)).ravel().astype(np.uint8)
    sentinel = (1 << width) - 1
    for index in np.flatnonzero(values == sentinel):
        values[index] = data[position]
        position += 1
    return values, position


def encode_indices(indices: npt.NDArray[np.integer]) -> bytes:
    """Compress an index sequence with the index codec (one baseline)."""
    values = np.asarray(indices, dtype=np.int64)
    delta = np.diff(values, prepend=0)
    if len(delta) and (delta.min() < -(2**30) or delta.max() >= 2**30):
        raise TilesError("index deltas beyond 2^30 cannot be encoded")
    zigzag = np.where(delta >= 0, delta << 1, ((-delta) << 1) - 1)
    encoded = (zigzag << 1).astype(np.uint64)  # baseline 0
    return bytes([INDEX_HEADER]) + _varints(encoded) + bytes(4)


def _varints(values: npt.NDArray[np.uint64]) -> bytes:
    """Unsigned LEB128 of every value, concatenated."""
    if len(values) == 0:
        return b""
    groups = np.stack([(values >> np.uint64(7 * i)) & np.uint64(0x7F) for i in range(5)], axis=1)
    lengths = np.maximum(1, (np.floor(np.log2(np.maximum(values, 1).astype(np.float64))) // 7 + 1))
    lengths = np.where(values == 0, 1, lengths).astype(np.int64)
    positions = np.arange(5)
    continued = positions < (lengths[:, None] - 1)
    encoded = (groups | (continued.astype(np.uint64) << np.uint64(7))).astype(np.uint8)
    return encoded[positions < lengths[:, None]].tobytes()


def decode_indices(data: bytes, count: int) -> npt.NDArray[np.int64]:
    """Decompress an index stream of ``count`` indices."""
    if not data or data[0] != INDEX_HEADER:
        raise TilesError("not a meshopt index stream (header 0xd1)")
    last = [0, 0]
    out = np.zeros(count, dtype=np.int64)
    position = 1
    for i in range(count):
        value, shift = 0, 0
        while True:
            byte = data[position]
            position += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        baseline = value & 1
        delta = ~(value >> 2) if value & 2 else value >> 2
        last[baseline] += delta
        out[i] = last[baseline]
    if len(data) - position != 4:
        raise TilesError("meshopt index stream has extra or missing bytes")
    return out

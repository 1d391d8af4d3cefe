"""Messages between the app and its workers as bytes, without pickle: a JSON header that holds the structure, and
the raw bytes of each NumPy array after it. A worker's messages (frames with codes and decoder weights, the kept
weights) cross a pipe or Redis this way, so a message can never run code when the app reads it.

Carried: None, bool, int, float (NaN and ±inf too), str, list/tuple (as lists), dict with str keys, NumPy arrays
of bool, (u)int8–64, float16/32/64 and NumPy scalars (as Python numbers).
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np

MAGIC = b"AEX1"
_HEADER = struct.Struct("<4sI")  # magic, header length
_DTYPES = {np.dtype(t).str for t in (np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
                                     np.int64, np.uint64, np.float16, np.float32, np.float64)}
MAX_MESSAGE_BYTES = 512 * 2**20  # a sanity bound on what one message may announce


class WireError(ValueError):
    """Bytes that are not a message of this format."""


def dumps(obj) -> bytes:
    buffers: list[bytes] = []
    header = json.dumps(_encode(obj, buffers), separators=(",", ":"), allow_nan=False).encode()
    return b"".join([_HEADER.pack(MAGIC, len(header)), header, *buffers])


def loads(data: bytes | memoryview):
    view = memoryview(data)
    if len(view) < _HEADER.size:
        raise WireError("a message is shorter than its header")
    magic, length = _HEADER.unpack_from(view)
    if magic != MAGIC or _HEADER.size + length > len(view):
        raise WireError("not a message of this format, or a truncated one")
    try:
        tree = json.loads(bytes(view[_HEADER.size:_HEADER.size + length]))
    except ValueError as exc:
        raise WireError(f"a message's header is not JSON ({exc})") from None
    body = view[_HEADER.size + length:]
    return _decode(tree, body)


def _encode(obj, buffers: list[bytes]):
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, np.bool_):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else {"$f": repr(value)}
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        array = np.ascontiguousarray(obj)
        if array.dtype.str not in _DTYPES:
            raise TypeError(f"arrays of {array.dtype} do not travel between processes here")
        offset = sum(len(b) for b in buffers)
        buffers.append(array.tobytes())
        return {"$a": [array.dtype.str, list(array.shape), offset]}
    if isinstance(obj, (list, tuple)):
        return [_encode(v, buffers) for v in obj]
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise TypeError("only dicts with str keys travel between processes here")
        if len(obj) == 1 and next(iter(obj)) in ("$a", "$f", "$d"):
            return {"$d": {k: _encode(v, buffers) for k, v in obj.items()}}  # a user dict that looks like a tag
        return {k: _encode(v, buffers) for k, v in obj.items()}
    raise TypeError(f"{type(obj).__name__} does not travel between processes here")


def _decode(tree, body: memoryview):
    if isinstance(tree, list):
        return [_decode(v, body) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if len(tree) == 1:
        (tag, value), = tree.items()
        if tag == "$a":
            return _array(value, body)
        if tag == "$f":
            if value not in ("nan", "inf", "-inf"):
                raise WireError(f"bad float {value!r}")
            return float(value)
        if tag == "$d":
            return {k: _decode(v, body) for k, v in value.items()}
    return {k: _decode(v, body) for k, v in tree.items()}


def _array(spec, body: memoryview) -> np.ndarray:
    try:
        dtype_str, shape, offset = spec
        dtype = np.dtype(dtype_str)
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise WireError("bad array description") from None
    if dtype.str not in _DTYPES or any(s < 0 for s in shape) or not isinstance(offset, int) or offset < 0:
        raise WireError("bad array description")
    size = dtype.itemsize * math.prod(shape)
    if size > MAX_MESSAGE_BYTES or offset + size > len(body):
        raise WireError("an array runs past the end of its message")
    return np.frombuffer(body[offset:offset + size], dtype=dtype).reshape(shape).copy()


# --- framed messages on a byte stream (a child process's pipes) -----------------------------------------------
_LENGTH = struct.Struct("<Q")


def write_frame(stream, data: bytes) -> None:
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def read_frame(stream) -> bytes | None:
    """The next frame's bytes; None at the end of the stream or when it stops inside a frame (a killed writer)."""
    head = _read_exact(stream, _LENGTH.size)
    if head is None:
        return None
    (length,) = _LENGTH.unpack(head)
    return None if length > MAX_MESSAGE_BYTES else _read_exact(stream, length)


def _read_exact(stream, n: int) -> bytes | None:
    """n bytes, reading on where a raw pipe hands out fewer at a time; None if the stream ends first."""
    parts, left = [], n
    while left:
        part = stream.read(left)
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)

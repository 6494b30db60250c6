"""Argument checks shared by the public API.

Every check raises ``ValueError`` with one line that names the field and what is allowed, so that the CLI can
print it as is (exit status 2) and API users see the same message.
"""
from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np

SHOWN_CHARACTERS = 40
"""Characters of a long text value that messages show (then its length)."""


def shown(value) -> str:
    """``repr(value)`` for messages, a text longer than SHOWN_CHARACTERS cut to its start and its length."""
    if isinstance(value, str) and len(value) > SHOWN_CHARACTERS:
        return f"{value[:SHOWN_CHARACTERS]!r}... ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= 2 * SHOWN_CHARACTERS else f"{text[:2 * SHOWN_CHARACTERS]}... ({len(text)} characters)"


def choice(field: str, value, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``; else raise naming the field and the allowed names."""
    allowed = sorted(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{field}: unknown value {shown(value)}; allowed: {', '.join(allowed)}")
    return value


def number(field: str, value, allowed: str = "a finite number") -> float:
    """A real number as float: int, float or a numpy integer / float scalar (or 0-d array). Booleans, text
    (numeric or not) and everything else raise naming the field and ``allowed``; so do NaN and inf."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{field}: must be {allowed} (not a boolean or text), got {shown(value)}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{field}: must be {allowed}, got {shown(value)}")
    return v


def number_array(field: str, value, ndim: int | None = None, shape: tuple | None = None) -> np.ndarray:
    """``finite_array`` of a value whose every entry is a real number: nested lists / tuples of int and float, or a
    numeric (integer or float) numpy array. Booleans and text anywhere raise naming the field."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "iuf":
            raise ValueError(f"{field}: must hold numbers (not booleans or text), got an array of dtype {value.dtype}")
    else:
        _check_entries(field, value)
    return finite_array(field, value, ndim=ndim, shape=shape)


def _check_entries(field: str, value) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        elif isinstance(item, np.ndarray):
            if item.dtype.kind not in "iuf":
                raise ValueError(f"{field}: must hold numbers (not booleans or text), got an array of dtype "
                                 f"{item.dtype}")
        elif isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Real):
            raise ValueError(f"{field}: must hold numbers only (not booleans or text), got the entry {shown(item)}")


INT_MAX = 2**63 - 1
"""The largest integer the suite accepts (numpy's and the results table's int64)."""


def hyperparameters(owner: str, cls: type, given: dict) -> None:
    """The keyword arguments ``given`` for ``cls(**given)``: ValueError naming a key that is not an argument of
    ``cls.__init__`` (with the allowed ones) or a required argument that is missing; ``owner`` names the class in the
    message, e.g. "velocity estimator 'kde'"."""
    import inspect

    parameters = {p: v for p, v in inspect.signature(cls.__init__).parameters.items() if p != "self"}
    for key in given:
        if key not in parameters:
            raise ValueError(f"{key}: not a hyperparameter of {owner}; allowed: {', '.join(parameters) or 'none'}")
    for key, p in parameters.items():
        if p.default is inspect.Parameter.empty and key not in given:
            raise ValueError(f"{key}: required by {owner}")


def positive_int(field: str, value) -> int:
    """An integer in [1, INT_MAX] (bools and non-integral floats are rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{field}: must be an integer >= 1, got {shown(value)}")
    if value > INT_MAX:
        raise ValueError(f"{field}: must be an integer in [1, 2**63 - 1], got {shown(value)}")
    return int(value)


def nonnegative_int(field: str, value) -> int:
    """An integer in [0, INT_MAX] (e.g. a seed)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= INT_MAX:
        raise ValueError(f"{field}: must be an integer in [0, 2**63 - 1], got {shown(value)}")
    return int(value)


def generator(field: str, rng) -> np.random.Generator:
    """A numpy random Generator (never the global RNG, never a bare seed)."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"{field}: must be a numpy.random.Generator (e.g. numpy.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")
    return rng


def positive_float(field: str, value) -> float:
    """A finite float > 0 (``number``: no booleans, no text)."""
    v = number(field, value, "a finite number > 0")
    if v <= 0:
        raise ValueError(f"{field}: must be a finite number > 0, got {shown(value)}")
    return v


BANDWIDTH_RANGE = (1e-100, 1e100)
"""Kernel bandwidths the estimators accept: their squares and inverse squares stay far inside float64."""


def bandwidth(field: str, value) -> float:
    """A kernel bandwidth: a finite float in ``BANDWIDTH_RANGE`` (units of the data)."""
    v = positive_float(field, value)
    low, high = BANDWIDTH_RANGE
    if not low <= v <= high:
        raise ValueError(f"{field}: must be a number in [{low:g}, {high:g}], got {value!r}")
    return v


def nonnegative_float(field: str, value) -> float:
    """A finite float >= 0 (e.g. a smoothing scale sigma; ``number``: no booleans, no text)."""
    v = number(field, value, "a finite number >= 0")
    if v < 0:
        raise ValueError(f"{field}: must be a finite number >= 0, got {shown(value)}")
    return v


def end_time(field: str, value) -> float:
    """The final time T of a flow, in (0, 1] (``number``: no booleans, no text)."""
    v = number(field, value, "a number in (0, 1]")
    if not (0.0 < v <= 1.0):
        raise ValueError(f"{field}: must be in (0, 1], got {shown(value)}")
    return v


_NOT_REAL = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "bytes", "M": "dates",
             "m": "time differences", "V": "records"}


def real_array(field: str, value) -> np.ndarray:
    """``value`` as a float64 array of real numbers: booleans, complex numbers (even with a zero imaginary part),
    strings and other non-numbers are refused with one ValueError, never coerced (True is not 1.0, "2" is not 2.0,
    and dropping an imaginary part changes the data)."""
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: must be an array of real numbers") from None
    kind = raw.dtype.kind
    if kind == "O":
        bad = next((v for v in raw.flat if isinstance(v, (bool, np.bool_, str, bytes, complex, np.complexfloating))),
                   None)
        if bad is not None:
            raise ValueError(f"{field}: must be an array of real numbers, got an entry {bad!r}")
    elif kind in _NOT_REAL:
        raise ValueError(f"{field}: must be an array of real numbers, got {_NOT_REAL[kind]} (dtype {raw.dtype})")
    try:
        return np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: must be an array of real numbers") from None


def finite_array(field: str, value, ndim: int | None = None, shape: tuple | None = None) -> np.ndarray:
    """A float64 array of real numbers (``real_array``) with no NaN or inf; ``ndim`` / ``shape`` (None entries are
    free) are checked if given."""
    arr = real_array(field, value)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{field}: must have {ndim} dimension(s), got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{field}: must have shape {want}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{field}: contains NaN or inf")
    return arr


def sample(field: str, x, min_rows: int = 1) -> np.ndarray:
    """A finite float64 sample of shape (n, D) with n >= ``min_rows`` and D >= 1 (a (n, 0) array has no
    coordinates to compare and is refused, not read as a distance 0)."""
    x = finite_array(field, x, ndim=2)
    if x.shape[1] < 1:
        raise ValueError(f"{field}: must have shape (n, D) with D >= 1 coordinates, got {x.shape}")
    if x.shape[0] < min_rows:
        raise ValueError(f"{field}: must have shape (n, D) with n >= {min_rows} rows, got {x.shape}")
    return x


def points(field: str, x, dim: int) -> np.ndarray:
    """Points of shape (n, dim), float64 and finite."""
    return finite_array(field, x, shape=(None, dim))


def times(field: str, t, n: int) -> np.ndarray:
    """Times in [0, 1]: a scalar or shape (n,); returned broadcast to shape (n,) float64."""
    arr = finite_array(field, t)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    elif arr.shape != (n,):
        raise ValueError(f"{field}: must be a scalar or have shape ({n},), got {arr.shape}")
    if np.any(arr < 0.0) or np.any(arr > 1.0):
        raise ValueError(f"{field}: times must lie in [0, 1]")
    return arr

"""The KV cache of a decoder: keys and values of past positions, per layer, optionally stored quantized.

``kv_format`` None keeps the values as computed.  Otherwise it names a block format or group scheme
of ``accel.formats`` (e.g. ``bfp12_b32``); each new token's K and V are quantized in blocks along the
head dimension when stored, and attention reads the dequantized values, as a quantized-cache
accelerator would.

``k_order`` (per layer, per KV head: a permutation of the head's channels) applies the K-channel
sorting of the BFP KV-cache paper: keys are quantized in that channel order, so channels of similar
magnitude share a block exponent.  q.k is unchanged by a permutation applied to both q and k; here
the cache undoes it after dequantizing, which gives the same scores as permuting W_q and W_k (and
the RoPE pairs with them) at compile time.  Sorting changes a block only when a block is shorter than
the head dimension (:func:`sorting_changes_blocks`).

The BFP KV-cache paper's setting: ``keys_only`` stores the keys in ``kv_format`` and keeps the values as
computed (the reference format), and ``query_format`` quantizes each query head in the channel order of
its KV head's keys before Q.K^T (queries in BFP16 against BFP12 keys).
"""

from __future__ import annotations

import numpy as np

from accel.errors import AccelError, WorkloadError


def block_size(fmt: str) -> int | None:
    """Elements sharing one scale or exponent in format ``fmt`` (None: per element, or along a whole axis)."""
    from accel import formats

    try:
        obj = formats.get(fmt)
    except AccelError as exc:
        raise WorkloadError(f"unknown KV-cache format {fmt!r}: {exc}") from None
    size = getattr(obj, "block_size", None)
    return size if isinstance(size, int) else None


def sorting_changes_blocks(kv_format: str | None, head_dim: int) -> bool:
    """Whether sorting key channels can change what ``kv_format`` stores: only when a block is shorter than
    the head dimension (one block per head holds the same channels in any order)."""
    if kv_format is None:
        return False
    size = block_size(kv_format)
    return size is not None and size < head_dim


class KVCache:
    """Per-layer growing arrays of shape (positions, kv_heads, head_dim)."""

    def __init__(self, n_layers: int, n_kv_heads: int, head_dim: int, kv_format: str | None = None,
                 k_order: np.ndarray | None = None, *, keys_only: bool = False, query_format: str | None = None):
        self.n_layers, self.n_kv_heads, self.head_dim = n_layers, n_kv_heads, head_dim
        self.kv_format = kv_format
        self.keys_only = keys_only
        self.query_format = query_format
        for what, fmt in (("KV-cache", kv_format), ("query", query_format)):
            if fmt is not None:
                from accel import formats

                try:
                    formats.get(fmt)
                except AccelError as exc:
                    raise WorkloadError(f"unknown {what} format {fmt!r}: {exc}") from None
        if keys_only and kv_format is None:
            raise WorkloadError("keys_only stores the keys in kv_format; give a kv_format, got None")
        if k_order is not None:
            k_order = np.asarray(k_order)
            want = (n_layers, n_kv_heads, head_dim)
            if k_order.shape != want or not all(
                    np.array_equal(np.sort(o), np.arange(head_dim)) for o in k_order.reshape(-1, head_dim)):
                raise WorkloadError(f"k_order must hold one permutation of 0..{head_dim - 1} per layer and KV head "
                                    f"(shape {want!r}), got shape {k_order.shape!r}")
        self.k_order = k_order
        self._k: list[np.ndarray | None] = [None] * n_layers
        self._v: list[np.ndarray | None] = [None] * n_layers
        self._len = [0] * n_layers

    @property
    def length(self) -> int:
        """Positions held (those of layer 0; a forward pass extends every layer by the same count)."""
        return self._len[0]

    def layer(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Keys and values held for layer ``i``, each (positions, kv_heads, head_dim)."""
        n = self._len[i]
        if self._k[i] is None:
            empty = np.empty((0, self.n_kv_heads, self.head_dim))
            return empty, empty
        return self._k[i][:n], self._v[i][:n]

    def _store(self, x: np.ndarray, order: np.ndarray | None = None, fmt: str | None = None) -> np.ndarray:
        """x (T, heads, head_dim) as stored in ``fmt`` (default the cache's format) and read back; ``order``
        (heads, head_dim) permutes channels for quantization."""
        fmt = fmt or self.kv_format
        if fmt is None:
            return x
        from accel import quant

        x64 = np.asarray(x, dtype=np.float64)
        if order is not None:
            x64 = np.take_along_axis(x64, order[None, :, :], axis=-1)
        flat = x64.reshape(-1, self.head_dim)
        out = quant.quantize(flat, fmt, axis=-1).dequantize().reshape(x.shape)
        if order is not None:
            back = np.empty_like(out)
            np.put_along_axis(back, np.broadcast_to(order[None], out.shape), out, axis=-1)
            out = back
        return out.astype(x.dtype, copy=False)

    def append(self, layer: int, k: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Add (T, kv_heads, head_dim) keys and values to ``layer``; return all keys and values so far."""
        want = (self.n_kv_heads, self.head_dim)
        if k.shape[1:] != want or v.shape != k.shape:
            raise WorkloadError(f"KV cache expects (T, {want[0]}, {want[1]}) keys and values, got {k.shape!r} "
                                f"and {v.shape!r}")
        k = self._store(k, None if self.k_order is None else self.k_order[layer])
        if not self.keys_only:
            v = self._store(v)
        n = self._len[layer]
        buf_k = self._k[layer]
        if buf_k is None or buf_k.shape[0] < n + k.shape[0] or buf_k.dtype != k.dtype:
            cap = max(16, 2 * (n + k.shape[0]))
            new_k = np.empty((cap,) + want, dtype=k.dtype)
            new_v = np.empty((cap,) + want, dtype=v.dtype)
            if n:
                new_k[:n], new_v[:n] = self._k[layer][:n], self._v[layer][:n]
            self._k[layer], self._v[layer] = new_k, new_v
        self._k[layer][n:n + k.shape[0]] = k
        self._v[layer][n:n + k.shape[0]] = v
        self._len[layer] = n + k.shape[0]
        return self._k[layer][:self._len[layer]], self._v[layer][:self._len[layer]]

    def queries(self, layer: int, q: np.ndarray) -> np.ndarray:
        """Queries (T, heads, head_dim) as Q.K^T reads them: quantized in ``query_format`` in the channel order
        of their KV head's keys (query heads grouped over KV heads in order), or unchanged without one."""
        if self.query_format is None:
            return q
        heads = q.shape[1]
        if q.ndim != 3 or q.shape[2] != self.head_dim or heads % self.n_kv_heads:
            raise WorkloadError(f"queries must be (T, heads, {self.head_dim}) with heads a multiple of "
                                f"{self.n_kv_heads}, got shape {q.shape!r}")
        order = None if self.k_order is None else np.repeat(self.k_order[layer], heads // self.n_kv_heads, axis=0)
        return self._store(q, order, self.query_format)

"""RTL bindings of ``block_mac`` and ``lmul``: builders, manifests and check suites (configs and golden
results: :mod:`rtl.verify.block_golden`)."""

from __future__ import annotations

from accel.pe.block import BlockMAC
from accel.pe.minifloat import LMulPE
from rtl.config import RtlBinding, no_pipeline, register
from rtl.verify.block_golden import block_config, lmul_config


# ----- the bindings
class _OwnConfigBinding(RtlBinding):
    """PEs with their own RTL config (not a MacConfig) and FP32 accumulation of their own."""

    array_note = ""

    def info(self, spec, rows, cols, *, dequant=False, dequant_spec=None) -> dict:
        from dataclasses import asdict

        d = {"pe": spec.to_string(), "rtl_config": asdict(self.rtl_config(spec))}
        if rows is not None:
            d["array"] = {"rows": rows, "cols": cols, "dataflow": "ws", "dequant": self.array_note}
        return d


@register(BlockMAC)
class BlockMacBinding(_OwnConfigBinding):
    """``block_mac``: :class:`rtl.pe.block_mac.BlockMacPE`, :class:`rtl.array.block_array.BlockMacArray`."""

    array_note = "column_edge: block conversion + FP32 accumulation (rtl.array.block_array)"

    def rtl_config(self, spec):
        return block_config(spec)

    def pe(self, spec):
        from rtl.pe.block_mac import BlockMacPE

        return BlockMacPE(block_config(spec), spec.pipeline_depth)

    def array(self, spec, rows, cols, *, dequant=False, dequant_spec=None):
        from rtl.array.block_array import BlockMacArray, check_rows

        no_pipeline(spec, "FP32 block accumulator without pipeline registers")
        check_rows(spec.group_size, rows)
        return BlockMacArray(block_config(spec), rows, cols)

    def product_block(self, spec):
        """The exact element product (:class:`rtl.pe.mac.ProductBlock`)."""
        from rtl.pe.mac import ProductBlock

        return ProductBlock(block_config(spec).elements)

    def verify(self, target, *, backend, vectors, seed, waves, workdir) -> list:
        from rtl.verify.block_checks import block_mac_suite

        return block_mac_suite(target.pe, backend=backend, vectors=vectors, seed=seed, waves=waves,
                               workdir_for=workdir, rows=target.rows, cols=target.cols)

    def random_check(self, spec, count, backend):
        from rtl.verify.block_checks import block_random_dots, check_block_pe

        return check_block_pe(spec, [block_random_dots(spec, max(1, count // (3 * spec.group_size)), seed=1)],
                              backend=backend)


@register(LMulPE)
class LmulBinding(_OwnConfigBinding):
    """``lmul``: :class:`rtl.pe.lmul.LmulPE`, and :class:`rtl.array.fp_array.FpWSArray` of L-Mul cells."""

    array_note = "none in the module: FP32 sums leave the array (psum in at the top for k order)"

    def rtl_config(self, spec):
        return lmul_config(spec)

    def pe(self, spec):
        from rtl.pe.lmul import LmulPE

        return LmulPE(lmul_config(spec), spec.pipeline_depth)

    def array(self, spec, rows, cols, *, dequant=False, dequant_spec=None):
        from rtl.array.fp_array import FpWSArray

        return FpWSArray(lmul_config(spec), rows, cols, pipeline_depth=spec.pipeline_depth)

    def product_block(self, spec):
        """The L-Mul product in FP32 (:class:`rtl.pe.lmul.LmulProduct`)."""
        from rtl.pe.lmul import LmulProduct

        return LmulProduct(lmul_config(spec))

    def verify(self, target, *, backend, vectors, seed, waves, workdir) -> list:
        from rtl.verify.block_checks import lmul_suite

        return lmul_suite(target.pe, backend=backend, vectors=vectors, seed=seed, waves=waves,
                          workdir_for=workdir, rows=target.rows, cols=target.cols)

    def random_check(self, spec, count, backend):
        from rtl.verify.block_checks import check_lmul_pe, lmul_random_dots

        return check_lmul_pe(spec, [lmul_random_dots(spec, max(1, count // 16), seed=1)], backend=backend)

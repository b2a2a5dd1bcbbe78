"""What operators one PE (and one dequantization unit) contains, read from the PE spec's activity: structure only,
priced by :mod:`cost_models.pe_cost`.

The PE's datapath is inferred from ``pe.activity_for(1, 1, K)`` with K = 16 groups (or 16 when the
spec has no group size), so the golden model stays the single definition of what a PE does:

- a kind counted at least once per MAC is a per-MAC unit: floor(count / K) instances, times
  ``macs_per_pe_per_cycle`` (packed low-bit MACs need that many datapaths); a fractional remainder is
  per-group work on the same kind (placed like the kinds below), not a further per-MAC instance;
- ``dequant_mul`` / ``dequant_add`` belong to the dequantization unit (placed per ``design.dequant``);
- any other kind counted less than once per MAC (per-group convert/scale-accumulate, activation
  group sums) belongs to the dequantization unit when the spec dequantizes after accumulation
  (``pe.dequant`` in ``per_group``/``per_output``: the post-GEMM path), else it is one shared
  instance in the PE;
- ``acc_overflow`` is an event, not hardware;
- a float multiply feeding an exact (Kulisch) accumulator is priced as the exact product it is
  (significand multiply + exponent add + one placing shift) + an integer add (``_exact_accumulation``);
  any other per-MAC Kulisch add is the placing shift of its P-bit product + an integer add
  (``_kulisch_alignment``);
- an integer multiplier feeding the accumulator directly (per-MAC kinds exactly ``int_mul`` and
  ``int_add``) is one fused ``macc:AxBxW`` unit: synthesis (Yosys ``alumacc``) merges ``acc + a * b``
  into one ``$macc`` summed at the accumulator width, which ``maccmap`` builds from partial products
  sign-extended to W bits; its area/LUTs are calibrated on synthesised stand-alone MACs;
- a saturating accumulator (``pe.overflow == "saturate"``) adds a ``clamp:{acc}`` unit (compares
  against the limits + a select per bit; calibrated on synthesised stand-alone clamps);
- pipeline registers: activation + weight operands + the widest accumulator (``out_bits`` when no
  accumulate key gives a width), per the weight-stationary systolic PE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from accel.activity import parse_key
from accel.design import stationary_row_bits, weight_load_lanes
from accel.errors import ConfigError
from cost_models.operators import operand, split_key
from sim import dataflows

DEQUANT_KINDS = ("dequant_mul", "dequant_add")
ACCUMULATE_KINDS = ("int_add", "kulisch_add", "fp_add", "lmul_add")
EVENT_KINDS = ("acc_overflow",)
POST_ACCUMULATION = ("per_group", "per_output")
PROBE_GROUPS = 16


def _probe_k(pe) -> int:
    g = getattr(pe, "group_size", None)
    return PROBE_GROUPS * (g if isinstance(g, int) and g > 0 else 1)


def alignment_keys(a_tag: str, w_tag: str) -> list[str]:
    """The shift placing the P-bit significand product of two operands at its exponent on the product's
    fixed-point grid (``shift:PxR``, R = the largest exponent shift, (2^Ea - 2) + (2^Ew - 2), 0 for integers;
    no shift when R = 0)
    and the ``negate`` turning the sign-magnitude result into two's complement
    (``rtl.arith.grid_products.exact_product``)."""
    a, w = operand(a_tag), operand(w_tag)
    p = a.significand_bits + w.significand_bits
    r = sum(2 ** x.ebits - 2 for x in (a, w) if x.is_float)
    return ([f"shift:{p}x{r}"] if r else []) + [f"negate:{p + r + 1}"]


def exact_product_keys(a_tag: str, w_tag: str) -> list[str]:
    """Operators of an exact (unrounded, fixed-point) product of two minifloat/int operands: significand
    ``int_mul``, exponent ``exp_add`` and the alignment (:func:`alignment_keys`)."""
    a, w = operand(a_tag), operand(w_tag)
    return ([f"int_mul:{a.significand_bits}x{w.significand_bits}", f"exp_add:{max(a.ebits, w.ebits) + 1}"]
            + alignment_keys(a_tag, w_tag))


def _exact_accumulation(act, k: int) -> dict[str, int]:
    """A float multiply feeding an exact (Kulisch) accumulator is an exact product, not a rounded one.

    ``fp_mul:AxB`` + ``kulisch_add:w`` per MAC become the exact product's operators
    (:func:`exact_product_keys`: significand multiply, exponent add, the shift placing
    the product in its fixed-point span) + ``int_add:w``: no normalisation or rounding, and the alignment
    is that one shift, not a second full-width barrel shifter in the accumulator (``rtl/arith/grid_products.py``).
    """
    act = dict(act)
    fp = [key for key, n in act.items() if parse_key(key)[0] == "fp_mul" and n >= k]
    kul = [key for key, n in act.items() if parse_key(key)[0] == "kulisch_add" and n >= k]
    if len(fp) != 1 or len(kul) != 1:
        return act
    a, b = parse_key(fp[0])[1]
    n_mul, n_acc = act.pop(fp[0]), act.pop(kul[0])
    for key in exact_product_keys(a, b):
        act[key] = act.get(key, 0) + n_mul
    acc = f"int_add:{parse_key(kul[0])[1][0]}"
    act[acc] = act.get(acc, 0) + n_acc
    return act


def _product_operands(pe) -> tuple[str, str] | None:
    """The activation and weight operand tags of a spec (``act_format``/``act_scheme``, ``weight_format``)."""
    a = getattr(pe, "act_format", None) or getattr(pe, "act_scheme", None)
    w = getattr(pe, "weight_format", None)
    if not (a and w):
        return None
    try:
        operand(a), operand(w)
    except (ConfigError, AttributeError):  # a block/group scheme, not an element format
        return None
    return a, w


def _kulisch_alignment(act, k: int, pe) -> dict[str, int]:
    """A per-MAC ``kulisch_add:W`` whose product is not a float multiply (e.g. MixPE W4A16's shift-add exact
    product) is the alignment of that P-bit product on its fixed-point grid and its sign application
    (:func:`alignment_keys`) + ``int_add:W``: the shifter's input is the product, not the
    W-bit accumulator (``rtl/arith/grid_products.py``, ``exact_product``).  Behind an integer multiply (BFP elements) it
    is an ``int_add:W``."""
    kul = [key for key, n in act.items() if split_key(key)[0] == "kulisch_add" and n >= k]
    per_mac = {split_key(key)[0] for key, n in act.items() if n >= k}
    if kul and "int_mul" in per_mac and "exp_add" not in per_mac:  # integer products share one grid: no alignment
        act = dict(act)
        for key in kul:
            n, width = act.pop(key), split_key(key)[1][0]
            act[f"int_add:{width}"] = act.get(f"int_add:{width}", 0) + n
        return act
    ops = _product_operands(pe) if kul else None
    if ops is None:
        return act
    act = dict(act)
    for key in kul:
        n, width = act.pop(key), split_key(key)[1][0]
        for part in alignment_keys(*ops) + [f"int_add:{width}"]:
            act[part] = act.get(part, 0) + n
    return act


@dataclass(frozen=True)
class Op:
    """One operator of a datapath (a key of :func:`cost_models.operators.split_key`), not priced."""

    key: str
    instances: int = 1
    role: str = ""  # what the unit is for when the key alone does not say (e.g. "saturation clamp")


@dataclass(frozen=True)
class Datapath:
    """The operators of one PE and of one dequantization unit, and the PE's registers: structure only."""

    pe_ops: tuple[Op, ...]
    dequant_ops: tuple[Op, ...]
    register_bits: int
    acc_bits: int
    lanes: int

    def pe_keys(self) -> list[str]:
        """The PE's operator keys, one per instance."""
        return [o.key for o in self.pe_ops for _ in range(o.instances)]


def _fuse_macc(ops: list[Op]) -> list[Op]:
    """A multiplier feeding the accumulator directly is one fused ``macc:AxBxW`` (module docstring)."""
    kinds = {split_key(o.key)[0] for o in ops}
    if kinds != {"int_mul", "int_add"} or len(ops) != 2 or ops[0].instances != ops[1].instances:
        return ops
    mul, add = sorted(ops, key=lambda o: split_key(o.key)[0] != "int_mul")
    a, b = split_key(mul.key)[1]
    (w,) = split_key(add.key)[1][:1]
    return [Op(f"macc:{a}x{b}x{w}", mul.instances, f"fused multiply-accumulate ({mul.key} + {add.key})")]


def pe_datapath(pe) -> Datapath:
    """Infer the operators of one PE of spec ``pe`` without pricing them (see module docstring)."""
    k = _probe_k(pe)
    try:
        act = pe.activity_for(1, 1, k)
    except Exception as exc:
        raise ConfigError(f"cannot probe PE {getattr(pe, 'name', pe)!r} with activity_for(1, 1, {k}): {exc}") from exc
    lanes = int(getattr(pe, "macs_per_pe_per_cycle", 1) or 1)
    post = getattr(pe, "dequant", "in_loop") in POST_ACCUMULATION
    pe_ops, dq_ops = [], []
    acc_bits = 0
    for key, count in sorted(_kulisch_alignment(_exact_accumulation(act, k), k, pe).items()):
        kind, ops = split_key(key)
        if kind in EVENT_KINDS or count <= 0:
            continue
        per_mac = count / k
        whole = math.floor(per_mac + 1e-9)  # per-MAC units; the remainder is per-group work on that kind
        if kind in DEQUANT_KINDS or (whole == 0 and post):
            dq_ops.append(Op(key))
            continue
        if whole and per_mac - whole > 1e-9 and post:
            dq_ops.append(Op(key))  # e.g. the per-group correction add of an unsigned-weight MixPE
        pe_ops.append(Op(key, whole * lanes if whole else 1))
        if kind in ACCUMULATE_KINDS:
            acc_bits = max(acc_bits, max(operand(x).bits for x in ops))
    acc_bits = acc_bits or int(getattr(pe, "out_bits", 32))
    pe_ops = _fuse_macc(pe_ops)
    if getattr(pe, "overflow", "wrap") == "saturate":
        pe_ops.append(Op(f"clamp:{acc_bits}", lanes, "saturation clamp"))
    reg_bits = lanes * (int(pe.act_bits) + int(pe.weight_bits)) + acc_bits
    return Datapath(tuple(pe_ops), tuple(dq_ops), reg_bits, acc_bits, lanes)


@dataclass(frozen=True)
class WeightLoadPath:
    """The stationary operand's write path into the shadow registers (``sim.array_timing``): each of ``cols``
    columns has ``lanes`` row-addressed buses of ``lane_bits`` (one PE row) running past its ``rows`` PEs.

    The one-lane bus is the baseline every design has (uncharged, as before).  Each further lane adds, per PE,
    a write port on the shadow register (an L:1 select per bit: L - 1 MUX2 cells) and, per column, a bus of
    ``lane_bits`` wires with one repeater per bit at every PE row (priced as an AND2 cell).  A written bit
    passes ``ceil(log2 L)`` mux levels."""

    lanes: int
    lane_bits: int
    rows: int
    cols: int

    @property
    def port_muxes_per_pe(self) -> int:
        return (self.lanes - 1) * self.lane_bits

    @property
    def extra_bus_repeaters(self) -> int:
        return (self.lanes - 1) * self.lane_bits * self.rows * self.cols

    @property
    def mux_levels(self) -> int:
        return math.ceil(math.log2(self.lanes)) if self.lanes > 1 else 0


def weight_load_path(design) -> WeightLoadPath:
    """The write path of ``design``'s array (:func:`accel.design.weight_load_lanes`; OS keeps nothing
    stationary: one lane, nothing charged)."""
    arr = design.array
    row_bits = stationary_row_bits(design.pe, dataflows.get(arr.dataflow).stationary)
    lanes = weight_load_lanes(arr.weight_load_bits_per_cycle, arr.cols, row_bits) if row_bits else 1
    return WeightLoadPath(lanes, row_bits, arr.rows, arr.cols)

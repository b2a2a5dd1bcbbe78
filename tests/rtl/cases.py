"""PE specs the RTL tests run, shared by every level (Amaranth simulator, Icarus)."""

#: Default variants plus every weight format and both overflow policies with narrow accumulators.
PE_SPECS = [
    "int8_mac",
    "int8_mac:acc_bits=14",  # wraps (the default policy) on corner groups
    "int8_mac:acc_bits=14,overflow=saturate",
    "int8_mac:act_bits=4,weight_bits=6",
    "mixpe_w4a8",
    "mixpe_w4a8:weight_format=uint4",
    "mixpe_w4a8:weight_format=q4_0",
    "mixpe_w4a8:weight_format=q4_1",
    "mixpe_w4a8:acc_bits=12",  # saturates (the default policy) on corner groups
    "mixpe_w4a8:acc_bits=12,overflow=wrap",
    "mixpe_w4a8:group_size=128,act_bits=6",
    "minifloat_mac:accumulate=kulisch",
    "minifloat_mac:accumulate=kulisch,act_format=float8_e5m2,weight_format=float8_e5m2",
    "minifloat_mac:accumulate=kulisch,act_format=float6_e3m2fn,weight_format=float6_e2m3fn",
    "minifloat_mac:accumulate=kulisch,act_format=float4_e2m1fn,weight_format=int4",
    "mixpe_w4a16",
    "mixpe_w4a16:weight_format=uint4",
    "mixpe_w4a16:weight_format=q4_1",
]

FP8_E4M3 = "minifloat_mac:accumulate=kulisch"
FP8_E5M2 = "minifloat_mac:accumulate=kulisch,act_format=float8_e5m2,weight_format=float8_e5m2"
FP6 = "minifloat_mac:accumulate=kulisch,act_format=float6_e3m2fn,weight_format=float6_e2m3fn"
FP4_INT4 = "minifloat_mac:accumulate=kulisch,act_format=float4_e2m1fn,weight_format=int4"

#: Specs whose corner groups must overflow the accumulator (so the policy is exercised).
OVERFLOWING = [s for s in PE_SPECS if "acc_bits" in s]

#: The variants CI proves on the generated Verilog (one per variant family and weight format).
ICARUS_SPECS = ["int8_mac", "int8_mac:acc_bits=14,overflow=saturate", "mixpe_w4a8", "mixpe_w4a8:weight_format=q4_1",
                "mixpe_w4a8:acc_bits=12,overflow=wrap", FP8_E4M3, FP8_E5M2, FP4_INT4, "mixpe_w4a16:weight_format=q4_1"]

#: block_mac (MX and BFP, mixed elements and block sizes) and lmul (both realisations, every mantissa width).
BLOCK_MAC_SPECS = [
    "block_mac",  # mxfp8_e4m3 x mxfp8_e4m3
    "block_mac:act_format=mxfp8_e5m2,weight_format=mxfp8_e5m2",  # 70-bit block accumulator
    "block_mac:act_format=mxfp6_e3m2,weight_format=mxfp6_e2m3",
    "block_mac:act_format=mxint8,weight_format=mxfp4",
    "block_mac:act_format=bfp16_b16,weight_format=bfp12_b16",
    "block_mac:act_format=bfp14_b32,weight_format=bfp14_b32",
]
LMUL_SPECS = [
    "lmul",  # e4m3, formula
    "lmul:realisation=adder",
    "lmul:act_format=float8_e5m2,weight_format=float8_e5m2,realisation=adder",
    "lmul:act_format=float6_e2m3fn,weight_format=float6_e2m3fn",
    "lmul:act_format=float6_e3m2fn,weight_format=float8_e5m2,realisation=adder",
    "lmul:act_format=float4_e2m1fn,weight_format=float4_e2m1fn",
]
ICARUS_BLOCK_MAC_SPECS = ["block_mac", "block_mac:act_format=bfp16_b16,weight_format=bfp12_b16"]
ICARUS_LMUL_SPECS = ["lmul"]  # the adder realisation: its FP6 exhaustive and gemm tests

#: FP32-accumulating PEs (rtl.pe.fp_mac): minifloat_mac's golden default accumulate=fp32 and the FP16
#: dequant-first baseline (every weight format; mixpe_w4a16:dequant=in_loop is the same PE).
FP_E4M3 = "minifloat_mac"
FP_E5M2 = "minifloat_mac:act_format=float8_e5m2,weight_format=float8_e5m2"
FP_FP6 = "minifloat_mac:act_format=float6_e3m2fn,weight_format=float6_e2m3fn"
FP_FP4_INT4 = "minifloat_mac:act_format=float4_e2m1fn,weight_format=int4"
FP_E4M3FNUZ = "minifloat_mac:act_format=float8_e4m3fnuz,weight_format=float8_e4m3"
FP_E3M0 = "minifloat_mac:act_format=e3m0,weight_format=e2m1"  # no mantissa bits (Brevitas-style, all finite)
DQF_SPECS = ["fp16_dequant_first", "fp16_dequant_first:weight_format=uint4", "fp16_dequant_first:weight_format=q4_0",
             "fp16_dequant_first:weight_format=q4_1", "mixpe_w4a16:dequant=in_loop,weight_format=uint4"]
FP_PE_SPECS = [FP_E4M3, FP_E5M2, FP_FP6, FP_FP4_INT4, FP_E4M3FNUZ, FP_E3M0, *DQF_SPECS]

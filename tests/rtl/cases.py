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

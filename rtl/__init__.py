"""Amaranth RTL of the PE variants and a systolic array; Verilog export, verification, synthesis."""

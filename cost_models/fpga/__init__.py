"""FPGA and ASIC synthesis side of the cost model: structural LUTs per operator (``structure``), the synthesised
blocks (``blocks``), the fitted LUT model (``model``), hard multipliers (``dsp``), the ASIC area calibration
(``calibration``) and the width sweep that synthesises the probe blocks (``sweep``)."""

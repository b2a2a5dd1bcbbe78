"""Project exception types. Every user-facing error is one of these, never a bare assert."""


class AccelError(Exception):
    """Base of every error the toolkit raises on purpose."""


class FormatError(AccelError, ValueError):
    """Unknown or invalid number format, quantization scheme or rounding mode."""


class ConfigError(AccelError, ValueError):
    """Invalid PE, array, memory or design specification (YAML or Python)."""


class TraceError(AccelError, ValueError):
    """Malformed, incompatible or incomplete trace directory."""


class WorkloadError(AccelError, ValueError):
    """Missing, corrupt or unsupported model file, tokenizer or text."""


class ToolError(AccelError, RuntimeError):
    """An external tool (Icarus, Yosys, Verilator, SCALE-Sim) is missing or failed."""

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


#: Longest text a message quotes of any value the user supplied (a value echoed in full could be megabytes).
QUOTE_LIMIT = 200


def _quoter():
    import reprlib

    r = reprlib.Repr()
    r.maxstring = r.maxother = r.maxlong = QUOTE_LIMIT - 20
    r.maxlist = r.maxtuple = r.maxdict = r.maxset = r.maxfrozenset = r.maxdeque = r.maxarray = 12
    r.maxlevel = 4
    return r


_QUOTER = _quoter()


def short_repr(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` cut to at most ``limit`` characters, built without rendering huge values in full."""
    try:
        text = _QUOTER.repr(value)
    except ValueError:  # an int too long for str(): say how long instead
        text = f"<integer of {value.bit_length()} bits>" if isinstance(value, int) else f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def list_problems(problems: list[str], limit: int = 50) -> str:
    """``problems`` joined with "; ", the first ``limit`` of them and a count of the rest."""
    shown = "; ".join(problems[:limit])
    return shown if len(problems) <= limit else f"{shown}; and {len(problems) - limit} more"

"""Verdicts on papers' claims, and the record each claim becomes (a row of the report, an object of claims.json).

Accuracy claims ("A is at most ``tolerance`` worse than B", "A beats B": tolerance 0) are judged from the
95% interval of the paired difference d = metric(A) - metric(B), larger = worse:

- ``holds`` when the whole interval lies below the tolerance (high < tolerance);
- ``does not hold`` when the whole interval lies above it (low > tolerance);
- ``unresolved`` otherwise: the text used cannot tell (the interval contains the tolerance).

Ratio claims ("2.6x faster") compare our ratio with the paper's: within +-20% of it ``matches``, above
``exceeds``, below ``falls short``; the interval we measured (e.g. over models) is reported beside it.
A claim we could not measure says ``not measured`` and why, in ``setting``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from accel.errors import ConfigError

HOLDS, DOES_NOT_HOLD, UNRESOLVED = "holds", "does not hold", "unresolved"
MATCHES, EXCEEDS, FALLS_SHORT = "matches", "exceeds", "falls short"
NOT_MEASURED = "not measured"
VERDICTS = (HOLDS, DOES_NOT_HOLD, UNRESOLVED, MATCHES, EXCEEDS, FALLS_SHORT, NOT_MEASURED)
#: A ratio within this fraction of the paper's figure matches it.
RATIO_BAND = 0.20


def _finite(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    return v


def accuracy_verdict(low: float, high: float, tolerance: float = 0.0) -> str:
    """holds / does not hold / unresolved for "the paired difference (larger = worse) is below ``tolerance``"."""
    lo, hi, tol = _finite("low", low), _finite("high", high), _finite("tolerance", tolerance)
    if lo > hi:
        raise ConfigError(f"interval must have low <= high, got low={low!r}, high={high!r}")
    if hi < tol:
        return HOLDS
    if lo > tol:
        return DOES_NOT_HOLD
    return UNRESOLVED


def ratio_verdict(ours: float, paper: float, band: float = RATIO_BAND) -> str:
    """matches (ours within +-``band`` of ``paper``, bounds included) / exceeds / falls short."""
    o, p, b = _finite("ours", ours), _finite("paper", paper), _finite("band", band)
    if p <= 0 or not 0 <= b < 1:
        raise ConfigError(f"paper must be > 0 and band in [0, 1), got paper={paper!r}, band={band!r}")
    r = o / p
    # the bounds are inclusive up to rounding of the division (0.8 * 2.6 / 2.6 is not exactly 0.8)
    if r > 1 + b + 1e-12:
        return EXCEEDS
    if r < 1 - b - 1e-12:
        return FALLS_SHORT
    return MATCHES


@dataclass(frozen=True)
class ClaimRecord:
    """One claim as the paper states it, our figure, the verdict and how we tested it.

    ``paper_value`` / ``ours``: numbers where the claim is a number (a ratio, a saving as a fraction), text
    otherwise; ``ours_ci95``: [low, high] of our figure where it has an interval (a paired 95% bootstrap
    interval, or the range over the settings measured), else None.
    """

    claim: str
    source: str
    paper_value: float | str
    ours: float | str | None
    ours_ci95: list[float] | None
    verdict: str
    setting: str

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ConfigError(f"verdict must be one of {', '.join(VERDICTS)}, got {self.verdict!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ours_ci95"] = None if self.ours_ci95 is None else [float(x) for x in self.ours_ci95]
        return d


def not_measured(claim: str, source: str, paper_value, why: str) -> ClaimRecord:
    return ClaimRecord(claim, source, paper_value, None, None, NOT_MEASURED, why)


def _num(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def ours_text(r: ClaimRecord) -> str:
    """Our figure with its interval, for the Markdown table."""
    if r.ours_ci95 is None:
        return _num(r.ours)
    return f"{_num(r.ours)} [{_num(r.ours_ci95[0])}, {_num(r.ours_ci95[1])}]"


def table_rows(records) -> list[dict]:
    """Rows for a Markdown table: claim, source, paper, ours [95% CI], verdict, how we tested it."""
    return [{"claim": r.claim, "source": r.source, "paper": _num(r.paper_value), "ours [95% CI]": ours_text(r),
             "verdict": r.verdict, "how we tested it": r.setting} for r in records]


TABLE_COLUMNS = ("claim", "source", "paper", "ours [95% CI]", "verdict", "how we tested it")


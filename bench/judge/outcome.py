"""Level 3, outcome: does the strategy change the trained model's test accuracy?

Seeds are paired: seed s of every strategy starts from the same initial weights and sees the
same data order as seed s of the large batch (the records carry hashes of both, and a pair whose
hashes differ is not used). Per seed the difference d_s = accuracy(strategy) - accuracy(large
batch); over n seeds, the mean difference and its 95% t-interval. Against an equivalence margin
stated in advance (two one-sided tests, here at the stricter 95% interval):

- *equivalent*   the whole interval lies inside (-margin, +margin);
- *different*    the whole interval lies outside it (above +margin or below -margin);
- *inconclusive* otherwise — with the number of seeds that would decide, if the mean and the
  spread stay as measured.

A large batch that did not learn (below the profile's accuracy bar) makes every comparison
"equal"; then nothing is judged.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

#: Two-sided 95% quantiles of Student's t, df = 1..30 (beyond: the normal's 1.960).
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t975(df: int) -> float:
    return T975[df - 1] if df <= len(T975) else 1.960


@dataclass(frozen=True)
class OutcomeVerdict:
    seeds: int
    mean_difference: float | None
    sd: float | None
    low: float | None
    high: float | None
    margin: float
    verdict: str              # equivalent | different | inconclusive | not judged
    seeds_to_decide: int | None
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def interval(self) -> str:
        if self.low is None:
            return "—"
        return f"[{self.low * 100:+.2f}, {self.high * 100:+.2f}]"


def _half_width(sd: float, n: int) -> float:
    return t975(n - 1) * sd / math.sqrt(n)


def seeds_to_decide(mean: float, sd: float, margin: float, n: int, limit: int = 200) -> int | None:
    """Smallest number of seeds whose interval (same mean and spread) would lie wholly inside
    or wholly outside the margin; None when no number up to `limit` would."""
    room = abs(abs(mean) - margin)
    if room == 0:
        return None
    if sd == 0:
        return max(n, 2)
    for m in range(max(n, 2), limit + 1):
        if _half_width(sd, m) < room:
            return m
    return None


def judge(differences: list[float], margin: float) -> OutcomeVerdict:
    """The verdict on paired accuracy differences (strategy minus large batch)."""
    n = len(differences)
    if n < 2:
        mean = differences[0] if n else None
        return OutcomeVerdict(n, mean, None, None, None, margin, "not judged", 2,
                              f"{n} paired seed(s): an interval needs at least 2")
    mean = sum(differences) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in differences) / (n - 1))
    hw = _half_width(sd, n)
    low, high = mean - hw, mean + hw
    points = f"{mean * 100:+.2f} points, 95% interval [{low * 100:+.2f}, {high * 100:+.2f}]"
    if -margin < low and high < margin:
        return OutcomeVerdict(n, mean, sd, low, high, margin, "equivalent", None,
                              f"{points} lies inside the margin of ±{margin * 100:.2g} points")
    if low > margin or high < -margin:
        return OutcomeVerdict(n, mean, sd, low, high, margin, "different", None,
                              f"{points} lies outside the margin of ±{margin * 100:.2g} points")
    need = seeds_to_decide(mean, sd, margin, n)
    more = (f"about {need} seeds would decide it if the mean and spread held" if need
            else "no number of seeds would decide it at this mean (it sits on the margin)")
    return OutcomeVerdict(n, mean, sd, low, high, margin, "inconclusive", need,
                          f"{points} straddles the margin of ±{margin * 100:.2g} points; {more}")


def not_judged(reason: str, margin: float, seeds: int = 0) -> OutcomeVerdict:
    return OutcomeVerdict(seeds, None, None, None, None, margin, "not judged", None, reason)

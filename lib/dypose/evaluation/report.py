"""Text tables of COCO keypoint statistics for logs and the README."""

from typing import Mapping

# COCOeval's ten keypoint statistics, in the order of COCOeval.stats.
STAT_NAMES = (
    "AP",
    "AP .5",
    "AP .75",
    "AP (M)",
    "AP (L)",
    "AR",
    "AR .5",
    "AR .75",
    "AR (M)",
    "AR (L)",
)


def format_stats_table(stats: Mapping[str, float], digits: int = 3) -> str:
    """A two-row markdown table: statistic names, then values.

    Args:
        stats: name -> value (e.g. from `evaluate_predictions`); -1 (no ground truth)
            is printed as is. None or an empty mapping gives a one-line note.
        digits: decimals shown.

    Returns:
        The table, e.g. "| AP | AP .5 | ... |\\n|---|...|\\n| 0.712 | 0.901 | ... |".
    """
    if not stats:
        return "(no statistics: evaluation skipped)"
    names = list(stats)
    values = [f"{float(stats[name]):.{digits}f}" for name in names]
    widths = [max(len(n), len(v)) for n, v in zip(names, values)]
    header = "| " + " | ".join(n.ljust(w) for n, w in zip(names, widths)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    row = "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"
    return "\n".join([header, rule, row])

"""Server-rendered SVG charts for the usage page: no script, no CDN, allowed by the
strict CSP (presentation attributes only, no style attributes).

Hand-written because the need is one chart type (bars per day, stacked by series) and a
plotting library would add a dependency heavier than these lines. Every label is
escaped; the markup is marked safe only here.
"""

from django.utils.html import escape
from django.utils.safestring import mark_safe

# Distinguishable on white, and for the commonest colour-vision deficiencies (Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
MAX_SERIES = len(PALETTE)


def top_series(series: dict[str, dict], *, others: str = "Others") -> dict[str, dict]:
    """The largest MAX_SERIES - 1 series by total, the rest summed as `others`."""
    ranked = sorted(series.items(), key=lambda item: -sum(item[1].values()))
    if len(ranked) <= MAX_SERIES:
        return dict(ranked)
    kept = dict(ranked[:MAX_SERIES - 1])
    rest: dict = {}
    for _name, values in ranked[MAX_SERIES - 1:]:
        for day, value in values.items():
            rest[day] = rest.get(day, 0) + value
    kept[others] = rest
    return kept


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * step:
            return factor * step
    return 10 * step


def stacked_bars(days: list, series: dict[str, dict], *, title: str, unit: str = "",
                 width: int = 720, height: int = 220) -> str:
    """Bars per day (x), stacked by series (colour = PALETTE order of `series`)."""
    left, bottom, top = 44, 22, 8
    plot_w, plot_h = width - left - 4, height - bottom - top
    totals = [sum(values.get(day, 0) for values in series.values()) for day in days]
    ymax = _nice_max(max(totals, default=0))
    slot = plot_w / max(len(days), 1)
    bar = max(slot * 0.7, 1)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">']
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        parts.append(f'<line x1="{left}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9dce3"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#4a5060">'
                     f'{ymax * fraction:g}</text>')
    for i, day in enumerate(days):
        x = left + i * slot + (slot - bar) / 2
        y = top + plot_h
        for (name, values), colour in zip(series.items(), PALETTE, strict=False):
            value = values.get(day, 0)
            if not value:
                continue
            h = plot_h * value / ymax
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                         f'<title>{escape(name)}, {day:%b %d}: {value:g}{escape(unit)}</title></rect>')
    label_every = max(1, len(days) // 8)
    for i, day in enumerate(days):
        if i % label_every == 0:
            x = left + i * slot + slot / 2
            parts.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle" font-size="11" '
                         f'fill="#4a5060">{day:%b %d}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every label above is escaped)


def swatch(index: int) -> str:
    colour = PALETTE[index % len(PALETTE)]
    return mark_safe(f'<svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" '  # noqa: S308
                     f'fill="{colour}"/></svg>')

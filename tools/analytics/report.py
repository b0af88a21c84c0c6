"""`tms report`: one self-contained HTML page (charts embedded as SVG, works offline) built from the
warehouse views."""

from __future__ import annotations

import html
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contract import defaults
from tools.analytics.warehouse import open_warehouse

PRIORITY_COLORS = {"HIGH": "#d64545", "MEDIUM": "#f0a202", "NORMAL": "#3c8dbc"}
SENTIMENT_COLORS = {"NEGATIVE": "#d64545", "MIXED": "#9b59b6", "NEUTRAL": "#95a5a6", "POSITIVE": "#27ae60"}
TOP_N = 10


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _figure(width: float = 6.4, height: float = 3.4) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False})
    return plt.subplots(figsize=(width, height))


def _bar(labels: list[str], values: list[float], colors: list[str], xlabel: str) -> str:
    fig, ax = _figure(5.2, 2.6)
    ax.barh(labels[::-1], values[::-1], color=colors[::-1])
    ax.set_xlabel(xlabel)
    for i, v in enumerate(values[::-1]):
        ax.text(v, i, f" {v:,.0f}", va="center", fontsize=8)
    return _svg(fig)


def _volume_chart(rows: list[tuple[Any, ...]]) -> str:
    days = sorted({r[0] for r in rows})
    fig, ax = _figure(10, 3.2)
    bottom = [0.0] * len(days)
    for prio, color in PRIORITY_COLORS.items():
        counts = {r[0]: r[2] for r in rows if r[1] == prio}
        vals = [float(counts.get(d, 0)) for d in days]
        ax.bar([str(d) for d in days], vals, bottom=bottom, color=color, label=prio)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_ylabel("tickets")
    ax.legend(frameon=False, ncols=3, loc="lower left", bbox_to_anchor=(0, 1.0))
    if len(days) > 14:
        ax.set_xticks(range(0, len(days), max(1, len(days) // 14)))
    ax.tick_params(axis="x", rotation=45)
    return _svg(fig)


def _product_chart(rows: list[tuple[Any, ...]]) -> str:
    totals: dict[str, int] = {}
    for product, _, n, _ in rows:
        totals[product] = totals.get(product, 0) + n
    top = sorted(totals, key=lambda p: -totals[p])[:TOP_N][::-1]
    fig, ax = _figure(6.4, 0.35 * len(top) + 1.2)
    left = [0.0] * len(top)
    for label, color in SENTIMENT_COLORS.items():
        counts = {r[0]: r[2] for r in rows if r[1] == label}
        vals = [float(counts.get(p, 0)) for p in top]
        ax.barh(top, vals, left=left, color=color, label=label)
        left = [a + v for a, v in zip(left, vals, strict=True)]
    ax.set_xlabel("tickets (by sentiment)")
    ax.legend(frameon=False, ncols=4, loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=7)
    return _svg(fig)


def _issue_chart(rows: list[tuple[Any, ...]]) -> str:
    top = sorted(rows, key=lambda r: -r[1])[:TOP_N][::-1]
    fig, ax = _figure(6.4, 0.35 * len(top) + 1.2)
    labels = [r[0] for r in top]
    ax.barh(labels, [r[1] for r in top], color="#c9d6e3", label="all")
    ax.barh(labels, [r[2] for r in top], color=PRIORITY_COLORS["HIGH"], label="HIGH")
    for i, r in enumerate(top):
        ax.text(r[1], i, f" {100 * r[3]:.0f}% HIGH", va="center", fontsize=8)
    ax.set_xlabel("tickets")
    ax.legend(frameon=False, ncols=2, loc="lower left", bbox_to_anchor=(0, 1.0))
    return _svg(fig)


def _latency_chart(rows: list[tuple[Any, ...]]) -> str:
    rows = sorted(rows)
    days = [str(r[0]) for r in rows]
    fig, ax = _figure(10, 3.0)
    ax.plot(days, [r[3] for r in rows], marker="o", color="#3c8dbc", label="median")
    ax.plot(days, [r[4] for r in rows], marker="o", color="#d64545", label="90th percentile")
    ax.set_ylabel("seconds, submission → triage")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, ncols=2, loc="lower left", bbox_to_anchor=(0, 1.0))
    ax.tick_params(axis="x", rotation=45)
    return _svg(fig)


def _sla_chart(rows: list[tuple[Any, ...]]) -> str:
    """First-response SLA attainment per day (the day responses were due), one bar per priority, labelled
    with the number of decided tickets (answered in time + breached) while the days are few enough to read."""
    days = sorted({r[0] for r in rows})
    fig, ax = _figure(10, 3.2)
    width = 0.8 / len(PRIORITY_COLORS)
    for k, (prio, color) in enumerate(PRIORITY_COLORS.items()):
        by_day = {r[0]: r for r in rows if r[1] == prio and r[5] is not None}
        xs = [i + (k - 1) * width for i, d in enumerate(days) if d in by_day]
        decided = [by_day[d] for d in days if d in by_day]
        ax.bar(xs, [float(r[5]) for r in decided], width=width, color=color, label=prio)
        if len(days) <= 14:
            for x, r in zip(xs, decided, strict=True):
                ax.text(x, float(r[5]) + 1, f"{int(r[3]) + int(r[4])}", ha="center", fontsize=6, color="#555")
    ax.set_xticks(range(len(days)), [str(d) for d in days])
    if len(days) > 14:
        ax.set_xticks(range(0, len(days), max(1, len(days) // 14)))
    ax.set_ylim(0, 108)
    ax.set_ylabel("% answered within target")
    ax.legend(frameon=False, ncols=3, loc="lower left", bbox_to_anchor=(0, 1.0))
    ax.tick_params(axis="x", rotation=45)
    return _svg(fig)


BENCHMARK_LABEL = f"{defaults.CSAT_BENCHMARK:.0%} email benchmark (Zendesk)"


def _csat_chart(rows: list[tuple[Any, ...]]) -> str:
    """CSAT per week (satisfied / answers), labelled with the number of answers, against the benchmark line."""
    rows = sorted(r for r in rows if r[1])
    weeks = [str(r[0]) for r in rows]
    shares = [100 * float(r[2]) / float(r[1]) for r in rows]
    fig, ax = _figure(10, 3.0)
    ax.bar(weeks, shares, color="#27ae60", label="CSAT (4-5 of 5, or thumbs up)")
    for i, r in enumerate(rows):
        ax.text(i, shares[i] + 1, f"{int(r[1])}", ha="center", fontsize=7, color="#555")
    ax.axhline(
        100 * defaults.CSAT_BENCHMARK,
        color="#d64545",
        linestyle="--",
        linewidth=1.2,
        label=BENCHMARK_LABEL,
        gid="csat-benchmark",  # the SVG keeps it as the line's id (tests find it; text is drawn as paths)
    )
    ax.set_ylim(0, 108)
    ax.set_ylabel("% satisfied (answers above bars)")
    ax.legend(frameon=False, ncols=2, loc="lower left", bbox_to_anchor=(0, 1.0))
    ax.tick_params(axis="x", rotation=45)
    return _svg(fig)


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def _outcomes_table(rows: list[tuple[Any, ...]]) -> str:
    """Per agent: ended tickets, mean resolution time, reopen rate, auto-closed share, CSAT (issue 32)."""
    lines = []
    for agent, ended, resolution, reopened, auto_closed, ratings, satisfied in rows:
        ended_n = float(ended or 0)
        lines.append(
            f"<tr><td>{html.escape(str(agent))}</td><td>{int(ended_n)}</td>"
            f"<td>{html.escape(_fmt_seconds(float(resolution) if resolution is not None else None))}</td>"
            f"<td>{_pct(float(reopened or 0), ended_n)}</td><td>{_pct(float(auto_closed or 0), ended_n)}</td>"
            f"<td>{_pct(float(satisfied or 0), float(ratings or 0))} ({int(ratings or 0)})</td></tr>"
        )
    return (
        '<table class="incidents"><tr><th>Agent</th><th>Ended</th><th>Mean resolution</th><th>Reopened</th>'
        "<th>Auto-closed</th><th>CSAT (answers)</th></tr>" + "".join(lines) + "</table>"
    )


ACCEPTANCE_COLORS = {"unchanged": "#27ae60", "lightly edited": "#f0a202", "rewritten": "#d64545"}


def acceptance_query(light_max: float = defaults.ACCEPTANCE_LIGHT_EDIT_MAX) -> str:
    """Sent replies per week and grounding, split into the three acceptance bands (issue 30.5)."""
    light = float(light_max)  # a number from the defaults, never user text
    return (
        "SELECT week, grounded, COUNT(*), "  # noqa: S608
        "SUM(CASE WHEN edit_distance = 0 THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN edit_distance > 0 AND edit_distance < {light} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN edit_distance >= {light} THEN 1 ELSE 0 END) "
        "FROM v_reply_acceptance GROUP BY week, grounded ORDER BY week, grounded"
    )


def _acceptance_chart(rows: list[tuple[Any, ...]]) -> str:
    """Per week: the share of sent replies unchanged, lightly edited and rewritten (grounded or not)."""
    weeks = sorted({r[0] for r in rows})
    totals = {w: [0, 0, 0, 0] for w in weeks}
    for week, _, sent, unchanged, light, rewritten in rows:
        for i, v in enumerate((sent, unchanged, light, rewritten)):
            totals[week][i] += int(v or 0)
    fig, ax = _figure(10, 3.0)
    labels = [str(w) for w in weeks]
    bottom = [0.0] * len(weeks)
    for k, (band, color) in enumerate(ACCEPTANCE_COLORS.items(), start=1):
        vals = [100 * totals[w][k] / totals[w][0] if totals[w][0] else 0.0 for w in weeks]
        ax.bar(labels, vals, bottom=bottom, color=color, label=band)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_ylabel("% of sent replies")
    ax.set_ylim(0, 100)
    ax.legend(frameon=False, ncols=3, loc="lower left", bbox_to_anchor=(0, 1.0))
    ax.tick_params(axis="x", rotation=45)
    return _svg(fig)


def _acceptance_table(rows: list[tuple[Any, ...]]) -> str:
    """Grounded vs ungrounded drafts: how many were sent, and in which band (issue 30.5)."""
    by: dict[bool, list[int]] = {True: [0, 0, 0, 0], False: [0, 0, 0, 0]}
    for _, grounded, *counts in rows:
        for i, v in enumerate(counts):
            by[bool(grounded)][i] += int(v or 0)
    lines = []
    for grounded, label in ((True, "grounded (with sources)"), (False, "ungrounded")):
        sent, unchanged, light, rewritten = by[grounded]
        if sent:
            lines.append(
                f"<tr><td>{label}</td><td>{sent:,}</td><td>{_pct(unchanged, sent)}</td>"
                f"<td>{_pct(light, sent)}</td><td>{_pct(rewritten, sent)}</td></tr>"
            )
    light_max = f"{defaults.ACCEPTANCE_LIGHT_EDIT_MAX:.0%}"
    return (
        '<table class="incidents"><tr><th>Draft</th><th>Sent</th><th>Unchanged</th>'
        f"<th>Lightly edited (&lt; {light_max})</th><th>Rewritten</th></tr>" + "".join(lines) + "</table>"
    )


def _fmt_seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 120:
        return f"{value:.1f} s"
    if value >= 2 * 86400:  # resolution times run to days (issue 32)
        return f"{value / 86400:.1f} d"
    if value >= 2 * 3600:
        return f"{value / 3600:.1f} h"
    return f"{value / 60:.1f} min"


TOP_INCIDENTS = 5


def _incident_table(rows: list[tuple[Any, ...]], products: list[tuple[Any, ...]]) -> str:
    """The largest incidents: reports, duration (first to last report), products (most reports first)."""
    by_incident: dict[str, list[tuple[int, str]]] = {}
    for incident_id, product, count in products:
        by_incident.setdefault(str(incident_id), []).append((-int(count), str(product)))
    lines = []
    for incident_id, reports, duration, first in rows:
        names_ = ", ".join(p for _, p in sorted(by_incident.get(str(incident_id), [])))
        lines.append(
            f"<tr><td><code>{html.escape(str(incident_id))}</code></td><td>{int(reports)}</td>"
            f"<td>{html.escape(_fmt_seconds(float(duration) if duration is not None else None))}</td>"
            f"<td>{html.escape(str(first))}</td><td>{html.escape(names_)}</td></tr>"
        )
    return (
        '<table class="incidents"><tr><th>Incident</th><th>Reports</th><th>Duration</th>'
        "<th>First report</th><th>Products</th></tr>" + "".join(lines) + "</table>"
    )


def _agent_table(rows: list[tuple[Any, ...]]) -> str:
    """Per owner (a Slack user id): tickets owned, answered, median and mean time to the first response."""
    body = "".join(
        f"<tr><td>{html.escape(str(agent))}</td><td>{int(tickets)}</td><td>{int(answered or 0)}</td>"
        f"<td>{_fmt_seconds(None if p50 is None else float(p50))}</td>"
        f"<td>{_fmt_seconds(None if avg is None else float(avg))}</td></tr>"
        for agent, tickets, answered, p50, avg in rows
    )
    head = "<tr><th>Agent</th><th>Owned</th><th>Answered</th><th>Median first response</th><th>Mean</th></tr>"
    return f'<table class="incidents agents">{head}{body}</table>'


def cost_estimate(warehouse: Any, *, template: Path | None = None) -> Any:
    """The cost per 1,000 tickets of the warehouse's tickets, or None without usage: the same computation
    as `tms cost --from warehouse` (tools.cost.warehouse_estimate), on the same stack (`template`, else a
    synth of cdk.json), whatever the working directory holds."""
    from tools import cost

    try:
        return cost.warehouse_estimate(warehouse, template=template)
    except cost.NoUsageError:
        return None


def _cost_table(est: Any) -> str:
    """The variable cost lines of one estimate, the stack they were priced on and the fixed part."""
    rows = "".join(
        f"<tr><td>{html.escape(line.item)}</td><td>{line.quantity:.4g}</td><td>{html.escape(line.unit)}</td>"
        f"<td>{line.usd:.4f}</td></tr>"
        for line in est.variable
    )
    fixed = (
        f"<p>Stack counted from {html.escape(est.stack.source)} ({html.escape(est.stack.state_machine_type)} "
        "workflow). "
        f"Fixed part: ${est.fixed_usd_per_month:,.2f} a month (KMS keys, alarms, secrets, stream, Glue, "
        "Redshift loads: <code>tms cost</code> itemizes it).</p>"
    )
    return (
        f"<p>{est.tickets_measured:,} tickets measured; reply model <code>{html.escape(est.model_id)}</code>; "
        f"{html.escape(est.region)} prices of {html.escape(est.price_table_as_of)}.</p>"
        '<table class="incidents"><tr><th>Line item</th><th>Per ticket</th><th>Unit</th>'
        "<th>USD per 1,000 tickets</th></tr>"
        + rows
        + f"<tr><th>Variable cost</th><td></td><td></td><th>{est.variable_usd_per_1000:.4f}</th></tr>"
        + f"<tr><td>of which triage and answer (goal $1.00)</td><td></td><td></td>"
        f"<td>{est.triage_usd_per_1000:.4f}</td></tr>"
        + f"<tr><td>of which follow-up mail (nudge, rating)</td><td></td><td></td>"
        f"<td>{est.followup_usd_per_1000:.4f}</td></tr></table>" + fixed
    )


def build_report(warehouse: Any, *, template: Path | None = None) -> str:
    """The report page for a warehouse."""
    _, by_day = warehouse.query("SELECT day, priority, tickets FROM v_tickets_by_priority_day ORDER BY day")
    _, mix = warehouse.query("SELECT product, sentiment, tickets, share FROM v_sentiment_mix_by_product")
    _, issues = warehouse.query(
        "SELECT issue_type, tickets, high_tickets, high_share FROM v_high_share_by_issue_type"
    )
    _, latency = warehouse.query(
        "SELECT day, tickets, avg_seconds, p50_seconds, p90_seconds, max_seconds FROM v_triage_latency"
    )
    _, overall = warehouse.query(
        "SELECT COUNT(*), "
        "SUM(CASE WHEN priority = 'HIGH' THEN 1 ELSE 0 END), "
        "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (processed_at - submitted_at))), "
        "MAX(processed_at), (SELECT COUNT(*) FROM tickets_quarantine) FROM tickets"
    )
    _, sla = warehouse.query(
        "SELECT day, priority, tickets_due, answered_in_time, breached, attainment_pct FROM v_sla_attainment"
    )
    _, incidents = warehouse.query(
        "SELECT incident_id, reports, duration_seconds, first_report FROM v_incidents "
        "ORDER BY reports DESC, first_report LIMIT 5"  # TOP_INCIDENTS
    )
    _, incident_products = warehouse.query(
        "SELECT incident_id, product, COUNT(*) FROM v_incident_members GROUP BY incident_id, product"
    )
    _, csat_weeks = warehouse.query(
        "SELECT week, SUM(ratings), SUM(satisfied) FROM v_ticket_outcomes GROUP BY week ORDER BY week"
    )
    _, outcomes = warehouse.query(
        "SELECT agent, SUM(ended), SUM(avg_resolution_seconds * ended) / NULLIF(SUM(ended), 0), "
        "SUM(reopen_rate * ended), SUM(auto_closed_share * ended), SUM(ratings), SUM(satisfied) "
        "FROM v_ticket_outcomes GROUP BY agent HAVING SUM(ended) > 0 ORDER BY SUM(ended) DESC, agent"
    )
    _, by_agent = warehouse.query(
        "SELECT agent, tickets, answered, p50_seconds, avg_seconds FROM v_first_response_by_agent "
        "ORDER BY tickets DESC, agent"
    )
    _, acceptance = warehouse.query(acceptance_query())
    _, prio = warehouse.query("SELECT priority, COUNT(*) FROM tickets GROUP BY priority")
    _, sent = warehouse.query("SELECT sentiment, COUNT(*) FROM tickets GROUP BY sentiment")
    total, high, p50, last, quarantined = overall[0]
    total = int(total or 0)
    cards = [
        ("Tickets", f"{total:,}"),
        ("HIGH priority", f"{100 * (high or 0) / total:.0f}%" if total else "–"),
        ("Median time to triage", _fmt_seconds(float(p50) if p50 is not None else None)),
        ("Quarantined records", f"{int(quarantined or 0):,}"),
    ]
    in_time = sum(int(r[3] or 0) for r in sla)
    decided = in_time + sum(int(r[4] or 0) for r in sla)
    if decided:
        cards.append(("First responses within SLA", f"{100 * in_time / decided:.0f}%"))
    answers = sum(int(r[1] or 0) for r in csat_weeks)
    if answers:
        happy = sum(int(r[2] or 0) for r in csat_weeks)
        cards.append(("CSAT", f"{100 * happy / answers:.0f}% of {answers:,}"))
    replies = sum(int(r[2] or 0) for r in acceptance)
    if replies:
        unchanged = sum(int(r[3] or 0) for r in acceptance)
        cards.append(("Replies sent as drafted", f"{100 * unchanged / replies:.0f}% of {replies:,}"))
    sections: list[tuple[str, str]] = []
    if total:
        p = {k: int(v) for k, v in prio}
        s = {k: int(v) for k, v in sent}
        sections = [
            ("Volume per day, by priority", _volume_chart(by_day)),
            (
                "Priority",
                _bar(
                    list(PRIORITY_COLORS),
                    [p.get(k, 0) for k in PRIORITY_COLORS],
                    list(PRIORITY_COLORS.values()),
                    "tickets",
                ),
            ),
            (
                "Sentiment",
                _bar(
                    list(SENTIMENT_COLORS),
                    [s.get(k, 0) for k in SENTIMENT_COLORS],
                    list(SENTIMENT_COLORS.values()),
                    "tickets",
                ),
            ),
            (f"Top {TOP_N} products, sentiment mix", _product_chart(mix)),
            (f"Top {TOP_N} issue types, share of HIGH", _issue_chart(issues)),
            ("Time from submission to triage", _latency_chart(latency)),
        ]
        if decided:
            sections.append(("SLA attainment per day, by priority", _sla_chart(sla)))
        if answers:
            sections.append(("Customer satisfaction per week", _csat_chart(csat_weeks)))
        if outcomes:
            sections.append(("How tickets end, per agent", _outcomes_table(outcomes)))
        if replies:
            sections.append(("Draft acceptance per week", _acceptance_chart(acceptance)))
            sections.append(("Draft acceptance, grounded vs ungrounded", _acceptance_table(acceptance)))
        if incidents:
            sections.append((f"Top {TOP_INCIDENTS} incidents", _incident_table(incidents, incident_products)))
        if by_agent:
            sections.append(("First response by agent", _agent_table(by_agent)))
        cost = cost_estimate(warehouse, template=template)
        if cost is not None:
            cards.append(("AWS cost per 1,000 tickets", f"${cost.variable_usd_per_1000:.2f}"))
            sections.append(("Cost per ticket", _cost_table(cost)))
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    card_html = "".join(
        f'<div class="card"><div class="v">{html.escape(v)}</div><div class="k">{html.escape(k)}</div></div>'
        for k, v in cards
    )
    wide = {
        "Volume per day, by priority",
        "Time from submission to triage",
        "SLA attainment per day, by priority",
        "Customer satisfaction per week",
        "How tickets end, per agent",
        "Draft acceptance per week",
        f"Top {TOP_INCIDENTS} incidents",
        "First response by agent",
        "Cost per ticket",
    }
    body = (
        "".join(
            f'<section class="{"wide" if title in wide else ""}"><h2>{html.escape(title)}</h2>{svg}</section>'
            for title, svg in sections
        )
        or '<section class="wide"><p>The warehouse is empty: run <code>tms etl</code> first.</p></section>'
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tms: support tickets report</title>
<style>
body{{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f4f6f8;color:#1f2d3d}}
header{{background:#1f2d3d;color:#fff;padding:18px 32px}} header h1{{margin:0;font-size:22px}}
header p{{margin:4px 0 0;color:#b8c4d0;font-size:13px}}
.cards{{display:flex;gap:16px;padding:20px 32px 0;flex-wrap:wrap}}
.card{{background:#fff;border-radius:8px;padding:14px 20px;min-width:160px;box-shadow:0 1px 3px rgba(0,0,0,.08)}}
.card .v{{font-size:26px;font-weight:600}} .card .k{{font-size:12px;color:#6b7c8d;text-transform:uppercase}}
main{{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:16px;padding:20px 32px 32px}}
section{{background:#fff;border-radius:8px;padding:12px 16px;box-shadow:0 1px 3px rgba(0,0,0,.08)}}
table.incidents{{border-collapse:collapse;font-size:13px}} table.incidents td,table.incidents th{{padding:4px 10px;text-align:left;border-bottom:1px solid #e3e8ee}}
section.wide{{grid-column:1/-1}} section h2{{font-size:15px;margin:4px 0 8px}} svg{{max-width:100%;height:auto}}
</style></head><body>
<header><h1>Support tickets</h1><p>Generated {generated} from {html.escape(warehouse.url)}; last triage {html.escape(str(last or "–"))}</p></header>
<div class="cards">{card_html}</div>
<main>{body}</main>
</body></html>
"""


def write_report(out: Path, *, warehouse_url: str | None = None, template: Path | None = None) -> Path:
    """Write the report for the warehouse at `warehouse_url` (default: the local one) to `out`."""
    warehouse = open_warehouse(warehouse_url)
    try:
        page = build_report(warehouse, template=template)
    finally:
        warehouse.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out.resolve()

// Usage: invocations and execution time per function, by UTC day.

import { html, useState } from "../../vendor/preact.js";
import { api, query } from "../api.js";
import { Button, Empty, ErrorBanner, Field, Loading, formatMs, formatNumber, useAsync } from "../ui.js";

const day = (offset) => new Date(Date.now() - offset * 86400e3).toISOString().slice(0, 10);

function DailyBars({ days, from, to }) {
  const byDay = Object.fromEntries(days.map((d) => [d.day, d.invocations]));
  const all = [];
  for (let t = new Date(`${from}T00:00:00Z`); t <= new Date(`${to}T00:00:00Z`); t = new Date(t.getTime() + 86400e3)) {
    const key = t.toISOString().slice(0, 10);
    all.push({ day: key, invocations: byDay[key] || 0 });
  }
  const max = Math.max(1, ...all.map((d) => d.invocations));
  return html`<div class="bars" aria-hidden="true">${all.map((d) => html`<span key=${d.day} title=${`${d.day}: ${d.invocations}`}
    style=${`height:${Math.max(2, (d.invocations / max) * 100)}%;${d.invocations ? "" : "opacity:0.15"}`}></span>`)}</div>`;
}

export function UsagePage() {
  const [range, setRange] = useState({ from: day(29), to: day(0) });
  const [draft, setDraft] = useState(range);
  const { data: usage, error, loading } = useAsync(() => api.get(`/usage${query(range)}`), [range.from, range.to]);
  const total = usage?.reduce((sum, u) => sum + u.invocations, 0) || 0;
  const time = usage?.reduce((sum, u) => sum + u.executionMs, 0) || 0;
  return html`<main class="page">
    <div class="page-head"><div class="titles"><h1>Usage</h1>
      <div class="subtitle">Function invocations and execution time, from deliveries and test runs (UTC days).</div></div></div>
    <form class="card row" style="align-items:flex-end;margin-bottom:16px" onSubmit=${(e) => { e.preventDefault(); setRange(draft); }}>
      <div><${Field} label="From"><input type="date" value=${draft.from} onInput=${(e) => setDraft({ ...draft, from: e.currentTarget.value })} /><//></div>
      <div><${Field} label="To"><input type="date" value=${draft.to} onInput=${(e) => setDraft({ ...draft, to: e.currentTarget.value })} /><//></div>
      <div style="margin-bottom:14px"><${Button} type="submit">Apply<//></div>
      <span class="grow"></span>
      <div class="stat" style="margin-bottom:14px"><div class="label">Invocations</div><div class="value" data-testid="usage-total">${formatNumber(total)}</div></div>
      <div class="stat" style="margin-bottom:14px"><div class="label">Execution time</div><div class="value">${formatMs(time)}</div></div>
    </form>
    <${ErrorBanner} error=${error} />
    ${loading && !usage ? html`<${Loading} />` : null}
    ${usage && !usage.length ? html`<div class="card"><${Empty} title="No invocations in this range">Functions count here once they run on events or in a test.<//></div>` : null}
    ${usage?.length
      ? html`<div class="card flush"><table class="list" aria-label="Usage by function">
          <thead><tr><th>Function</th><th class="num">Invocations</th><th class="num">Execution time</th><th style="width:40%">By day</th></tr></thead>
          <tbody>${usage.map((u) => html`<tr key=${u.functionId}>
            <td class="name-cell"><a href=${`#/functions/${u.functionId}`}>${u.displayName || u.functionId}</a></td>
            <td class="num">${formatNumber(u.invocations)}</td>
            <td class="num">${formatMs(u.executionMs)}</td>
            <td><${DailyBars} days=${u.days} from=${range.from} to=${range.to} /></td>
          </tr>`)}</tbody>
        </table></div>`
      : null}
  </main>`;
}

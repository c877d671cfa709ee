// A stacked bar chart of delivery outcomes over time, drawn as SVG (no chart library: the
// one chart the UI needs is a few dozen lines).

import { html } from "../vendor/preact.js";

export const OUTCOMES = [
  { key: "delivered", label: "Delivered", color: "#1a7f37" },
  { key: "retrying", label: "Retrying", color: "#d4a72c" },
  { key: "failed", label: "Failed", color: "#c62828" },
  { key: "filtered", label: "Filtered", color: "#9aa5b4" },
  { key: "expired", label: "Expired", color: "#6e40c9" },
];

const WIDTH = 960;
const HEIGHT = 220;
const PAD = { top: 10, right: 10, bottom: 24, left: 40 };
const MAX_BARS = 120;

/** Minute rows merged into at most MAX_BARS buckets covering [from, to). */
export function bucketize(series, from, to) {
  const start = new Date(from).getTime();
  const end = new Date(to).getTime();
  const minutes = Math.max(1, Math.ceil((end - start) / 60000));
  const perBucket = Math.max(1, Math.ceil(minutes / MAX_BARS));
  const count = Math.ceil(minutes / perBucket);
  const buckets = Array.from({ length: count }, (_, i) => {
    const bucket = { at: start + i * perBucket * 60000 };
    for (const o of OUTCOMES) bucket[o.key] = 0;
    return bucket;
  });
  for (const row of series) {
    const index = Math.floor((new Date(row.minute).getTime() - start) / (perBucket * 60000));
    if (index < 0 || index >= count) continue;
    for (const o of OUTCOMES) buckets[index][o.key] += row[o.key] || 0;
  }
  return { buckets, perBucket };
}

function niceMax(value) {
  if (value <= 4) return 4;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return value;
}

function timeLabel(ms, span) {
  const date = new Date(ms);
  return span > 86400000
    ? date.toLocaleDateString(undefined, { month: "short", day: "numeric" }) + " " + date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

export function DeliveryChart({ series, from, to }) {
  const { buckets, perBucket } = bucketize(series, from, to);
  const totals = buckets.map((b) => OUTCOMES.reduce((sum, o) => sum + b[o.key], 0));
  const max = niceMax(Math.max(0, ...totals));
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const slot = innerW / buckets.length;
  const barW = Math.max(1, slot * 0.78);
  const y = (v) => PAD.top + innerH - (v / max) * innerH;
  const ticks = [0, max / 2, max];
  const span = new Date(to) - new Date(from);
  const labelEvery = Math.ceil(buckets.length / 6);
  const events = totals.reduce((a, b) => a + b, 0);
  return html`<div class="chart">
    <svg viewBox=${`0 0 ${WIDTH} ${HEIGHT}`} role="img" data-testid="delivery-chart" data-events=${events}
      aria-label=${`Delivery outcomes, ${perBucket} minute${perBucket > 1 ? "s" : ""} per bar; ${events} events in all`}>
      ${ticks.map((t) => html`<g key=${t}>
        <line class="gridline" x1=${PAD.left} x2=${WIDTH - PAD.right} y1=${y(t)} y2=${y(t)} />
        <text class="axis" x=${PAD.left - 6} y=${y(t) + 3} text-anchor="end">${Number.isInteger(t) ? t : t.toFixed(1)}</text>
      </g>`)}
      ${buckets.map((b, i) => {
        let base = 0;
        const x = PAD.left + i * slot + (slot - barW) / 2;
        return html`<g key=${b.at}>
          ${OUTCOMES.filter((o) => b[o.key] > 0).map((o) => {
            const top = y(base + b[o.key]);
            const height = y(base) - top;
            base += b[o.key];
            return html`<rect x=${x} y=${top} width=${barW} height=${Math.max(height, 0.5)} fill=${o.color} data-outcome=${o.key}>
              <title>${timeLabel(b.at, span)}: ${b[o.key]} ${o.label.toLowerCase()}</title>
            </rect>`;
          })}
          ${i % labelEvery === 0
            ? html`<text class="axis" x=${x + barW / 2} y=${HEIGHT - 8} text-anchor="middle">${timeLabel(b.at, span)}</text>`
            : null}
        </g>`;
      })}
    </svg>
    <div class="legend">
      ${OUTCOMES.map((o) => html`<span key=${o.key}><i class="dot" style=${`background:${o.color}`}></i>${o.label}</span>`)}
    </div>
  </div>`;
}

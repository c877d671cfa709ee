// Event delivery of one destination or source: outcomes over time, p95 latency, the recent
// failures with their logs and request traces, the debug-capture switch, and replay.

import { html, useEffect, useRef, useState } from "../vendor/preact.js";
import { ApiError, api, query } from "./api.js";
import { normalizeDelivery, normalizeEvents } from "./data.js";
import { DeliveryChart, OUTCOMES } from "./chart.js";
import { RequestTable } from "./test-panel.js";
import {
  Badge, Button, Empty, ErrorBanner, Field, JsonBlock, Loading, Modal, Switch, formatMs,
  formatNumber, formatTime, relativeTime, toast,
} from "./ui.js";

const RANGES = [
  { id: "1h", label: "Last hour", ms: 3600e3 },
  { id: "6h", label: "Last 6 hours", ms: 6 * 3600e3 },
  { id: "24h", label: "Last 24 hours", ms: 24 * 3600e3 },
  { id: "7d", label: "Last 7 days", ms: 7 * 24 * 3600e3 },
];
const REFRESH_MS = 5000;
const DEBUG_MINUTES = 15;
const STATUSES = ["failed", "expired", "retrying", "filtered", "delivered"];
// The categories as the error table of docs/functions.md names them.
const CATEGORY_LABELS = {
  retry: "Retry",
  timeout: "Timeout",
  message_rejected: "Message Rejected",
  unsupported_event_type: "Unsupported Event Type",
  filtered: "Filtered",
  invalid_settings: "Invalid Settings",
  bad_request: "Bad Request",
};

export function categoryLabel(category) {
  return CATEGORY_LABELS[category] || category;
}

function Stat({ label, value, detail, color }) {
  return html`<div class="stat" data-stat=${label}>
    <div class="label">${color ? html`<i class="dot" style=${`background:${color}`}></i>` : null}${label}</div>
    <div class="value">${value}</div>
    ${detail ? html`<div class="detail">${detail}</div>` : null}
  </div>`;
}

function ReplayModal({ collection, id, range, categories, onClose, onDone }) {
  const local = (ms) => new Date(ms - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  const [from, setFrom] = useState(local(Date.now() - range.ms));
  // The inputs have minutes only: end at the next minute, so that events of this one count.
  const [to, setTo] = useState(local(Date.now() + 60000));
  const [statuses, setStatuses] = useState(["expired"]);
  const [chosen, setChosen] = useState([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const toggle = (list, set, value, on) => set(on ? [...list, value] : list.filter((v) => v !== value));
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      const body = { from: new Date(from).toISOString(), to: new Date(to).toISOString(), statuses };
      if (chosen.length) body.categories = chosen;
      const result = await api.post(`/${collection}/${id}/replay`, body);
      toast(`${result.replayed} event(s) queued again for delivery.`);
      onDone();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return html`<${Modal} title="Replay events" onClose=${onClose}
    footer=${html`<${Button} onClick=${onClose}>Cancel<//><${Button} kind="primary" busy=${busy} disabled=${!statuses.length} onClick=${submit}>Replay<//>`}>
    <p class="muted">Events that ended in these outcomes in the time range are delivered again, with the destination's current version, filters and settings.</p>
    <${ErrorBanner} error=${error} />
    <div class="inline-fields">
      <${Field} label="From"><input type="datetime-local" value=${from} onInput=${(e) => setFrom(e.currentTarget.value)} /><//>
      <${Field} label="To"><input type="datetime-local" value=${to} onInput=${(e) => setTo(e.currentTarget.value)} /><//>
    </div>
    <div class="field" style="margin-bottom:14px"><div class="label" style="font-weight:600;margin-bottom:6px">Outcomes</div>
      <div class="row">${["expired", "failed"].map((s) => html`<label class="check" key=${s}>
        <input type="checkbox" checked=${statuses.includes(s)} onChange=${(e) => toggle(statuses, setStatuses, s, e.currentTarget.checked)} />${s}</label>`)}</div>
    </div>
    ${categories.length
      ? html`<div class="field"><div class="label" style="font-weight:600;margin-bottom:6px">Only these failure categories (optional)</div>
          <div class="row wrap">${categories.map((c) => html`<label class="check" key=${c}>
            <input type="checkbox" checked=${chosen.includes(c)} onChange=${(e) => toggle(chosen, setChosen, c, e.currentTarget.checked)} />${categoryLabel(c)}</label>`)}</div>
        </div>`
      : null}
  <//>`;
}

function Records({ collection, id, categories, version }) {
  const [status, setStatus] = useState("failed");
  const [category, setCategory] = useState("");
  const [records, setRecords] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api.get(`/${collection}/${id}/delivery/events${query({ status, category, limit: 20 })}`).then(
      (data) => { setRecords(normalizeEvents(data)); setError(null); },
      setError,
    );
  }, [status, category, version]);
  return html`<div class="card flush" aria-label="Recent records">
    <div class="card-head" style="padding:14px 16px 0">
      <h2>Recent ${status === "delivered" ? "successes (debug capture)" : status} events</h2>
      <select style="width:auto" aria-label="Outcome" value=${status} onChange=${(e) => setStatus(e.currentTarget.value)}>
        ${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select>
      ${categories.length
        ? html`<select style="width:auto" aria-label="Category" value=${category} onChange=${(e) => setCategory(e.currentTarget.value)}>
            <option value="">Any category</option>
            ${categories.map((c) => html`<option value=${c}>${categoryLabel(c)}</option>`)}
          </select>`
        : null}
    </div>
    <div style="padding:0 16px"><${ErrorBanner} error=${error} /></div>
    ${!records && !error ? html`<${Loading} />` : null}
    ${records && !records.length
      ? html`<${Empty} title=${`No ${status} events`}>${status === "delivered" ? "Turn on debug capture to keep a sample of successful deliveries." : "Nothing to show in the kept records."}<//>`
      : null}
    ${records?.length
      ? html`<div style="margin-top:10px;border-top:1px solid var(--line)">${records.map((r) => html`<details class="failure" key=${r.id}>
          <summary>
            <${Badge} kind=${r.status === "delivered" ? "ok" : r.status === "filtered" ? "" : r.status === "retrying" ? "warn" : "bad"}>${r.status}<//>
            ${r.category ? html`<span class="badge" title=${r.category}>${categoryLabel(r.category)}</span>` : null}
            <span class="msg">${r.error || r.payload?.event || r.payload?.type || r.id}</span>
            <span class="faint small nowrap">${r.attempts} attempt${r.attempts === 1 ? "" : "s"}</span>
            <span class="faint small nowrap" title=${formatTime(r.at)}>${relativeTime(r.at)}</span>
          </summary>
          <div class="body stack">
            <dl class="kv small"><dt>Id</dt><dd class="mono">${r.id}</dd><dt>At</dt><dd>${formatTime(r.at)}</dd>${r.error ? html`<dt>Error</dt><dd>${r.error}</dd>` : null}</dl>
            <div><h3>Logs</h3>${r.logs?.length ? html`<ul class="logs">${r.logs.map((l, i) => html`<li key=${i}>${l}</li>`)}</ul>` : html`<span class="faint small">No logs.</span>`}</div>
            <div><h3>Requests</h3>${r.requests?.length ? html`<${RequestTable} requests=${r.requests} />` : html`<span class="faint small">No requests.</span>`}</div>
            ${r.payload !== undefined ? html`<div><h3>Payload</h3><${JsonBlock} value=${r.payload} /></div>` : null}
          </div>
        </details>`)}</div>`
      : null}
  </div>`;
}

/** `collection` is "destinations" or "sources"; `instance` the one shown. Destinations
 * also have the debug-capture switch and replay. */
export function DeliveryPanel({ collection, instance, canChange, reason }) {
  const controls = collection === "destinations";
  const [rangeId, setRangeId] = useState("1h");
  const range = RANGES.find((r) => r.id === rangeId);
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [version, setVersion] = useState(0);
  const [debugUntil, setDebugUntil] = useState(instance.debugUntil || null);
  const [debugBusy, setDebugBusy] = useState(false);
  const [replaying, setReplaying] = useState(false);
  const timer = useRef(null);

  const load = async () => {
    const to = new Date();
    const from = new Date(to.getTime() - range.ms);
    try {
      const answer = await api.get(`/${collection}/${instance.id}/delivery${query({ from: from.toISOString(), to: to.toISOString() })}`);
      setData(normalizeDelivery({ from: from.toISOString(), to: to.toISOString(), ...answer }));
      setError(null);
    } catch (err) {
      setError(err);
    }
  };

  useEffect(() => {
    load();
    timer.current = setInterval(() => {
      if (document.visibilityState === "visible") {
        load();
        setVersion((v) => v + 1);
      }
    }, REFRESH_MS);
    return () => clearInterval(timer.current);
  }, [rangeId]);

  if (error instanceof ApiError && (error.status === 404 || error.status === 405)) {
    return html`<div class="card"><${Empty} title="Event delivery is not available on this server yet">
      This headrace version does not keep delivery records for ${collection}.<//></div>`;
  }
  if (!data && !error) return html`<${Loading} />`;

  const debugOn = debugUntil && new Date(debugUntil) > new Date();
  const setDebug = async (on) => {
    const before = debugUntil;
    // Shown at once; put back if the API refuses.
    setDebugUntil(on ? new Date(Date.now() + DEBUG_MINUTES * 60000).toISOString() : null);
    setDebugBusy(true);
    try {
      const result = await api.post(`/${collection}/${instance.id}/debug`, { minutes: on ? DEBUG_MINUTES : 0 });
      setDebugUntil(result.debugUntil);
      toast(on ? `Capturing successful deliveries until ${formatTime(result.debugUntil)}.` : "Debug capture is off.");
    } catch (err) {
      setDebugUntil(before);
      toast(err.message, "error");
    } finally {
      setDebugBusy(false);
    }
  };

  const totals = data?.totals;
  const categories = totals ? Object.keys(totals.failedByCategory) : [];
  const byCategory = categories.length
    ? categories.map((c) => `${categoryLabel(c)}: ${totals.failedByCategory[c]}`).join(", ")
    : null;
  const isFunctionSource = collection === "sources" && instance.kind === "FUNCTION";
  const rejected = (data?.intake?.rejected || []).reduce((sum, r) => sum + r.count, 0);
  return html`<div>
    <div class="row" style="margin-bottom:14px">
      <select style="width:auto" aria-label="Time range" value=${rangeId} onChange=${(e) => setRangeId(e.currentTarget.value)}>
        ${RANGES.map((r) => html`<option value=${r.id}>${r.label}</option>`)}
      </select>
      <${Button} onClick=${() => { load(); setVersion((v) => v + 1); }}>Refresh<//>
      <span class="grow"></span>
      ${controls
        ? html`<${Switch} checked=${!!debugOn} busy=${debugBusy} disabled=${!canChange} reason=${reason} onChange=${setDebug}
            label=${debugOn ? `Debug capture on until ${new Date(debugUntil).toLocaleTimeString()}` : "Debug capture"} />
          <${Button} disabled=${!canChange} reason=${reason} onClick=${() => setReplaying(true)}>Replay…<//>`
        : null}
    </div>
    <${ErrorBanner} error=${error} />
    ${totals && controls
      ? html`<div class="stats">
          <${Stat} label="Delivered" value=${formatNumber(totals.delivered)} color=${OUTCOMES[0].color} />
          <${Stat} label="Retrying" value=${formatNumber(totals.retrying)} color=${OUTCOMES[1].color} />
          <${Stat} label="Failed" value=${formatNumber(totals.failed)} color=${OUTCOMES[2].color} detail=${byCategory} />
          <${Stat} label="Filtered" value=${formatNumber(totals.filtered)} color=${OUTCOMES[3].color} />
          <${Stat} label="Expired" value=${formatNumber(totals.expired)} color=${OUTCOMES[4].color} />
          <${Stat} label="p95 latency" value=${formatMs(data.latency?.p95)} detail=${data.latency ? `p50 ${formatMs(data.latency.p50)}` : null} />
        </div>`
      : null}
    ${totals && !controls
      ? html`<div class="stats">
          <${Stat} label="Accepted events" value=${formatNumber(data.intake?.accepted)} color=${OUTCOMES[0].color} />
          <${Stat} label="Rejected events" value=${formatNumber(rejected)} color=${OUTCOMES[2].color}
            detail=${data.intake?.rejected?.map((r) => `${r.reason}: ${r.count}`).join(", ")} />
          ${isFunctionSource
            ? html`<${Stat} label="Requests run" value=${formatNumber(totals.delivered)} />
              <${Stat} label="Requests failed" value=${formatNumber(totals.failed)} detail=${byCategory} />
              <${Stat} label="Retrying" value=${formatNumber(totals.retrying)} />
              <${Stat} label="Expired" value=${formatNumber(totals.expired)} />`
            : null}
        </div>`
      : null}
    ${data?.series
      ? html`<div class="card" style="margin-bottom:16px"><${DeliveryChart} series=${data.series} from=${data.from} to=${data.to} /></div>`
      : null}
    ${controls || isFunctionSource
      ? html`<${Records} collection=${collection} id=${instance.id} categories=${categories} version=${version} />`
      : html`<p class="muted">How each destination of this source delivers its events is on the destination's Event delivery tab.</p>`}
    ${replaying
      ? html`<${ReplayModal} collection=${collection} id=${instance.id} range=${range} categories=${categories}
          onClose=${() => setReplaying(false)} onDone=${() => { setReplaying(false); load(); setVersion((v) => v + 1); }} />`
      : null}
  </div>`;
}

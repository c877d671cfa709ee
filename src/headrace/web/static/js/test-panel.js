// The Test tab: an event (a sample, a recent one from a source, or typed JSON; an array
// tests on_batch, a request object a source function), test setting values, Run, and the
// outcome: result, error with its line, logs and request traces.

import { html, useState } from "../vendor/preact.js";
import { ApiError, api, query } from "./api.js";
import { CodeEditor } from "./code-editor.js";
import { normalizeEvents } from "./data.js";
import { SettingsForm, initialValues, settingsPayload } from "./settings-form.js";
import { SAMPLE_TYPES, sampleFor } from "./templates.js";
import { Badge, Banner, Button, ErrorBanner, JsonBlock, formatMs, relativeTime } from "./ui.js";

const LOG_CUT_MARKER = "[logs truncated";

/** The line of the user's code an error points at: its own, or the last frame of the stack. */
export function errorLine(error) {
  if (!error) return null;
  if (error.line) return error.line;
  const frames = [...(error.stack || "").matchAll(/line (\d+)/g)];
  return frames.length ? Number(frames[frames.length - 1][1]) : null;
}

/** A kept webhook request as a test request: its JSON body parsed so it reads and edits
 * as JSON (a source function's `request.json()` takes either). */
function asTestRequest(record) {
  const { id, ...request } = record;
  if (typeof request.body === "string") {
    try {
      request.body = JSON.parse(request.body);
    } catch {
      // Not JSON (a form, plain text): kept as the string it was.
    }
  }
  return request;
}

/** Recent payloads of a source or destination: the requests a function source got, or the
 * events a destination was sent (kept for failures, and for successes while debugging). */
function RecentEvents({ graph, isSource, onPick }) {
  const [choice, setChoice] = useState("");
  const [state, setState] = useState(null);
  const sources = isSource ? graph.sources.filter((s) => s.kind === "FUNCTION") : graph.sources;
  const destinations = isSource ? [] : graph.destinations;
  const load = async (value) => {
    setChoice(value);
    if (!value) return setState(null);
    setState({ loading: true });
    try {
      const data = await api.get(`/${value}/delivery/events${query({ limit: 20 })}`);
      setState({ records: normalizeEvents(data).filter((r) => r.payload && typeof r.payload === "object") });
    } catch (error) {
      setState({ error });
    }
  };
  if (!sources.length && !destinations.length) return null;
  const describe = (payload) =>
    isSource
      ? `${payload.method || "POST"} ${JSON.stringify(payload.body ?? payload).slice(0, 40)}`
      : `${payload.type || "event"}${payload.event ? ` · ${payload.event}` : ""}`;
  return html`<div style="margin-top:8px">
    <select aria-label="Recent events" value=${choice} onChange=${(e) => load(e.currentTarget.value)}>
      <option value="">${isSource ? "Recent requests of a source…" : "Recent events of a source or destination…"}</option>
      ${sources.length ? html`<optgroup label="Sources">${sources.map((s) => html`<option value=${`sources/${s.id}`}>${s.name}</option>`)}</optgroup>` : null}
      ${destinations.length ? html`<optgroup label="Destinations">${destinations.map((d) => html`<option value=${`destinations/${d.id}`}>${d.name}</option>`)}</optgroup>` : null}
    </select>
    ${state?.loading ? html`<p class="muted small">Loading…</p>` : null}
    ${state?.error
      ? state.error instanceof ApiError && (state.error.status === 404 || state.error.status === 405)
        ? html`<p class="muted small">This server keeps no recent events there yet: pick a sample or type your own JSON.</p>`
        : html`<${ErrorBanner} error=${state.error} />`
      : null}
    ${state?.records && !state.records.length
      ? html`<p class="muted small">Nothing kept there yet. Failed deliveries are kept; successes only while debug capture is on.</p>`
      : null}
    ${state?.records?.length
      ? html`<ul aria-label="Recent payloads" style="list-style:none;padding:0;margin:6px 0 0;max-height:160px;overflow:auto">
          ${state.records.map((r) => html`<li key=${r.id}>
            <button class="ghost small" onClick=${() => onPick(isSource ? asTestRequest(r.payload) : r.payload)}>${describe(r.payload)} · ${r.status} · ${relativeTime(r.at)}</button>
          </li>`)}
        </ul>`
      : null}
  </div>`;
}

export function Outcome({ outcome, onLine }) {
  const error = outcome.error;
  const line = errorLine(error);
  const filtered = error?.category === "filtered";
  const logs = outcome.logs || [];
  const cut = logs.some((l) => l.startsWith(LOG_CUT_MARKER));
  return html`<div class="output" data-testid="test-output">
    <div class=${`status ${outcome.ok ? "ok" : filtered ? "warn" : "bad"}`}>
      ${outcome.ok ? "Succeeded" : filtered ? "Filtered" : "Failed"}
      ${error ? html`<span style="font-weight:normal">· ${error.type}</span>` : null}
      <span class="grow"></span>
      <span style="font-weight:normal" class="small">${formatMs(outcome.durationMs)}</span>
    </div>
    ${error
      ? html`<section aria-label="Error">
          <h4>Error</h4>
          <dl class="kv">
            <dt>Type</dt><dd class="mono">${error.type}</dd>
            <dt>Category</dt><dd><${Badge} kind=${filtered ? "warn" : "bad"}>${error.category}<//></dd>
            <dt>Message</dt><dd>${error.message}</dd>
            ${line ? html`<dt>Line</dt><dd><button class="ghost small" onClick=${() => onLine(line)}>line ${line}</button></dd>` : null}
          </dl>
          ${error.stack ? html`<pre class="block" style="margin-top:8px">${error.stack}</pre>` : null}
        </section>`
      : null}
    <section aria-label="Result">
      <h4>Result</h4>
      ${outcome.result === null || outcome.result === undefined
        ? html`<span class="faint small">No result${outcome.ok ? " (the handler returned nothing)" : ""}.</span>`
        : html`<${JsonBlock} value=${outcome.result} />`}
    </section>
    <section aria-label="Logs">
      <h4>Logs ${cut ? html`<${Badge} kind="warn" title="Logs are capped at 4 KB per call">cut at 4 KB<//>` : null}</h4>
      ${logs.length
        ? html`<ul class="logs">${logs.map((l, i) => html`<li key=${i} class=${l.startsWith(LOG_CUT_MARKER) ? "cut" : ""}>${l}</li>`)}</ul>`
        : html`<span class="faint small">Nothing logged. Use console.log(...) or print(...).</span>`}
    </section>
    <section aria-label="Requests">
      <h4>Requests</h4>
      ${outcome.requests?.length
        ? html`<${RequestTable} requests=${outcome.requests} />`
        : html`<span class="faint small">No requests made with fetch.</span>`}
    </section>
  </div>`;
}

export function RequestTable({ requests }) {
  return html`<table class="requests" style="width:100%;border-collapse:collapse">
    <tbody>${requests.map((r, i) => html`<tr key=${i}>
      <td>${r.method}</td>
      <td style="word-break:break-all">${r.url}</td>
      <td>${r.status ? html`<${Badge} kind=${r.status < 300 ? "ok" : r.status < 500 ? "warn" : "bad"}>${r.status}<//>` : html`<${Badge} kind="bad" title=${r.error}>error<//>`}</td>
      <td class="nowrap faint">${formatMs(r.durationMs)}</td>
    </tr>
    ${r.error ? html`<tr><td></td><td colspan="3" class="faint">${r.error}</td></tr>` : null}`)}</tbody>
  </table>`;
}

export function TestPanel({ fn, code, schema, canEdit, graph, onErrorLine }) {
  const isSource = fn.resourceType === "SOURCE";
  const [sample, setSample] = useState("track");
  const [payload, setPayload] = useState(() => JSON.stringify(sampleFor(fn.resourceType), null, 2));
  const [values, setValues] = useState(() => initialValues(schema));
  const [running, setRunning] = useState(false);
  const [outcome, setOutcome] = useState(null);
  const [error, setError] = useState(null);
  const savedNames = new Set(fn.settings.map((s) => s.name));
  const unsaved = schema.filter((s) => !savedNames.has(s.name));

  const pickSample = (type) => {
    setSample(type);
    setPayload(JSON.stringify(sampleFor(fn.resourceType, type), null, 2));
  };

  const run = async () => {
    let parsed;
    try {
      parsed = JSON.parse(payload);
    } catch (err) {
      setError(new Error(`The test event is not valid JSON: ${err.message}`));
      return;
    }
    setRunning(true);
    setError(null);
    try {
      // The run checks values against the saved schema; settings added since are left out.
      const settings = settingsPayload(schema.filter((s) => savedNames.has(s.name)), values);
      const result = await api.post("/functions/preview", { functionId: fn.id, code, settings, payload: parsed });
      setOutcome(result);
      const line = result.ok ? null : errorLine(result.error);
      onErrorLine(line, result.error ? `${result.error.type}: ${result.error.message}` : null);
    } catch (err) {
      setError(err);
      setOutcome(null);
    } finally {
      setRunning(false);
    }
  };

  return html`<div>
    <div class="section-title">${isSource ? "Request" : "Event"}</div>
    ${isSource
      ? html`<p class="muted small">A webhook request: <span class="kbd">body</span>, <span class="kbd">headers</span>, <span class="kbd">queryParameters</span>.</p>`
      : html`<div class="row">
          <select aria-label="Sample event" value=${sample} onChange=${(e) => pickSample(e.currentTarget.value)}>
            ${SAMPLE_TYPES.map((t) => html`<option value=${t}>${t === "batch" ? "Batch (on_batch): an array of events" : `Sample ${t} event`}</option>`)}
          </select>
        </div>`}
    <${RecentEvents} graph=${graph} isSource=${isSource} onPick=${(event) => setPayload(JSON.stringify(event, null, 2))} />
    <div style="margin-top:8px">
      <${CodeEditor} value=${payload} language="json" onChange=${setPayload} className="json-host" label="Test event JSON" />
    </div>
    <div class="section-title">Settings for this test</div>
    ${unsaved.length
      ? html`<p class="muted small">Save to test the new setting${unsaved.length > 1 ? "s" : ""} ${unsaved.map((s) => s.name).join(", ")}.</p>`
      : null}
    <${SettingsForm} schema=${schema.filter((s) => savedNames.has(s.name))} values=${values} onChange=${setValues} error=${error} idPrefix="test" />
    <div class="row" style="margin:6px 0 14px">
      <${Button} kind="primary" busy=${running} disabled=${!canEdit}
        reason="Running needs the FUNCTIONS_ADMIN role for this function." onClick=${run}>Run<//>
      <span class="muted small">Runs the code in the editor, saved or not, in a fresh sandbox.</span>
    </div>
    <${ErrorBanner} error=${error} />
    ${outcome ? html`<${Outcome} outcome=${outcome} onLine=${(line) => onErrorLine(line, outcome.error?.message)} />` : null}
    ${!outcome && !error && canEdit ? html`<${Banner}>Run the function to see its result, logs and requests here.<//>` : null}
  </div>`;
}

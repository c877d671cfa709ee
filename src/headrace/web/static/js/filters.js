// A destination's filters: an FQL condition and actions each, edited with the API's
// errors shown where they are in the expression, and previewed on a sample event.

import { html, useEffect, useState } from "../vendor/preact.js";
import { ApiError, api } from "./api.js";
import { CodeEditor } from "./code-editor.js";
import { SAMPLE_EVENTS } from "./templates.js";
import { Badge, Button, Empty, ErrorBanner, Field, JsonBlock, Loading, Modal, Switch, fieldError, toast } from "./ui.js";

const ACTIONS = [
  { type: "DROP", label: "Drop the event" },
  { type: "SAMPLE", label: "Keep a sample" },
  { type: "DROP_PROPERTIES", label: "Drop properties" },
  { type: "ALLOW_PROPERTIES", label: "Allow only properties" },
];
const ACTION_LABELS = Object.fromEntries(ACTIONS.map((a) => [a.type, a.label]));

/** `{"properties": ["email"]}` as editable lines: `properties: email, phone`. */
function fieldsToText(fields) {
  return Object.entries(fields || {}).map(([object, keys]) => `${object}: ${keys.join(", ")}`).join("\n");
}

function textToFields(text) {
  const fields = {};
  for (const line of text.split("\n")) {
    const [object, keys = ""] = line.split(":");
    if (!object.trim()) continue;
    fields[object.trim()] = keys.split(",").map((k) => k.trim()).filter(Boolean);
  }
  return fields;
}

function describe(action) {
  if (action.type === "SAMPLE") return `Keep ${Math.round((action.percent ?? 0) * 100)}%${action.path ? ` by ${action.path}` : ""}`;
  if (action.fields) return `${ACTION_LABELS[action.type]}: ${fieldsToText(action.fields).replace(/\n/g, "; ")}`;
  return ACTION_LABELS[action.type] || action.type;
}

/** The filter as the API takes it, from the form's draft. */
function toFilter(draft) {
  const filter = {
    title: draft.title.trim(), description: draft.description.trim(), enabled: draft.enabled, if: draft.if.trim(),
    actions: draft.actions.map((a) => {
      if (a.type === "SAMPLE") return { type: a.type, percent: Number(a.percent) / 100, ...(a.path ? { path: a.path } : {}) };
      if (a.type === "DROP") return { type: a.type };
      return { type: a.type, fields: textToFields(a.fieldsText) };
    }),
  };
  return filter;
}

function toDraft(filter) {
  return {
    title: filter?.title || "", description: filter?.description || "", enabled: filter ? filter.enabled !== false : true,
    if: filter?.if || "type = 'track'",
    actions: (filter?.actions || [{ type: "DROP" }]).map((a) => ({
      type: a.type, percent: a.percent !== undefined ? Math.round(a.percent * 100) : 10, path: a.path || "",
      fieldsText: fieldsToText(a.fields) || "properties: email",
    })),
  };
}

function FilterEditor({ destinationId, filter, onClose, onSaved }) {
  const [draft, setDraft] = useState(() => toDraft(filter));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [sample, setSample] = useState(() => JSON.stringify(SAMPLE_EVENTS.track, null, 2));
  const [preview, setPreview] = useState(null);
  const [previewError, setPreviewError] = useState(null);
  const set = (key, value) => {
    setDraft({ ...draft, [key]: value });
    // An error points into the text it was about; once that changes, it no longer applies.
    if (key === "if") {
      setError(null);
      setPreviewError(null);
    }
  };
  const setAction = (index, key, value) => set("actions", draft.actions.map((a, i) => (i === index ? { ...a, [key]: value } : a)));

  const fqlError = fieldError(error, "if") || fieldError(previewError, "filter.if") || fieldError(previewError, "if");
  const diagnostics = fqlError && typeof fqlError.position === "number"
    ? [{ from: fqlError.position, to: fqlError.position + 1, message: fqlError.message }]
    : [];

  const save = async () => {
    setBusy(true);
    setError(null);
    try {
      const body = toFilter(draft);
      const saved = filter
        ? await api.patch(`/destinations/${destinationId}/filters/${filter.id}`, body)
        : await api.post(`/destinations/${destinationId}/filters`, body);
      toast(saved.title ? `Filter “${saved.title}” saved.` : "Filter saved.");
      onSaved(saved);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const runPreview = async () => {
    setPreviewError(null);
    let payload;
    try {
      payload = JSON.parse(sample);
    } catch (err) {
      setPreviewError(new Error(`The sample event is not valid JSON: ${err.message}`));
      return;
    }
    try {
      setPreview(await api.post("/destinations/filters/preview", { filter: toFilter(draft), payload }));
    } catch (err) {
      setPreview(null);
      setPreviewError(err);
    }
  };

  return html`<${Modal} title=${filter ? "Edit filter" : "New filter"} wide onClose=${onClose}
    footer=${html`<${Button} onClick=${onClose}>Cancel<//><${Button} kind="primary" busy=${busy} onClick=${save}>Save filter<//>`}>
    <div class="grid-2">
      <div>
        <${ErrorBanner} error=${error && !fqlError ? error : null} />
        <${Field} label="Title" error=${fieldError(error, "title")}>
          <input type="text" value=${draft.title} onInput=${(e) => set("title", e.currentTarget.value)} placeholder="e.g. Only orders" />
        <//>
        <${Field} label="Description">
          <input type="text" value=${draft.description} onInput=${(e) => set("description", e.currentTarget.value)} />
        <//>
        <div class="field" style="margin-bottom:14px">
          <div class="label" style="font-weight:600;margin-bottom:5px">If (FQL)</div>
          <${CodeEditor} value=${draft.if} language="text" onChange=${(text) => set("if", text)} diagnostics=${diagnostics}
            className=${`fql-host ${fqlError ? "invalid" : ""}`} label="FQL condition" />
          ${fqlError
            ? html`<div class="field-error" role="alert" data-testid="fql-error">${fqlError.message}</div>
                ${typeof fqlError.position === "number"
                  ? html`<div class="fql-error" aria-hidden="true">${`${draft.if}\n${" ".repeat(fqlError.position)}^`}</div>`
                  : null}`
            : html`<span class="help muted small">e.g. <span class="kbd">event = 'Order Completed'</span>, <span class="kbd">all</span> for every event. See docs/filters.md.</span>`}
        </div>
        <div class="section-title">Then</div>
        ${draft.actions.map((action, index) => html`<div class="setting-item" key=${index}>
          <div class="row">
            <select aria-label="Action" value=${action.type} onChange=${(e) => setAction(index, "type", e.currentTarget.value)}>
              ${ACTIONS.map((a) => html`<option value=${a.type}>${a.label}</option>`)}
            </select>
            <${Button} small kind="ghost" disabled=${draft.actions.length === 1} onClick=${() => set("actions", draft.actions.filter((_, i) => i !== index))}>Remove<//>
          </div>
          ${action.type === "SAMPLE"
            ? html`<div class="inline-fields" style="margin-top:8px">
                <${Field} label="Keep (%)" error=${fieldError(error, `actions[${index}].percent`)}>
                  <input type="number" min="0" max="100" value=${action.percent} onInput=${(e) => setAction(index, "percent", e.currentTarget.value)} />
                <//>
                <${Field} label="Sample by field (optional)"><input type="text" placeholder="messageId" value=${action.path} onInput=${(e) => setAction(index, "path", e.currentTarget.value)} /><//>
              </div>`
            : null}
          ${action.type === "DROP_PROPERTIES" || action.type === "ALLOW_PROPERTIES"
            ? html`<div style="margin-top:8px"><${Field} label="Fields" help="One object per line: properties: email, phone" error=${fieldError(error, `actions[${index}].fields`)}>
                <textarea rows="2" class="mono" value=${action.fieldsText} onInput=${(e) => setAction(index, "fieldsText", e.currentTarget.value)}></textarea>
              <//></div>`
            : null}
        </div>`)}
        <div style="margin-top:8px">
          <${Button} small disabled=${draft.actions.length >= ACTIONS.length} onClick=${() => set("actions", [...draft.actions, { type: "SAMPLE", percent: 10, path: "", fieldsText: "properties: email" }])}>Add action<//>
        </div>
        <div style="margin-top:14px"><${Switch} checked=${draft.enabled} onChange=${(v) => set("enabled", v)} label="Enabled" /></div>
      </div>
      <div>
        <div class="section-title">Preview on a sample event</div>
        <${CodeEditor} value=${sample} language="json" onChange=${setSample} className="json-host" label="Sample event" />
        <div class="row" style="margin:8px 0"><${Button} onClick=${runPreview}>Preview<//></div>
        <${ErrorBanner} error=${previewError && !fqlError ? previewError : null} />
        ${preview
          ? html`<div class="output" data-testid="filter-preview">
              <div class=${`status ${preview.result === null ? "warn" : "ok"}`}>
                ${preview.result === null
                  ? `Dropped${preview.action ? ` (${ACTION_LABELS[preview.action] || preview.action})` : ""}`
                  : preview.action ? `Sent on, changed by ${ACTION_LABELS[preview.action] || preview.action}` : "Sent on unchanged"}
              </div>
              ${preview.result !== null ? html`<section><${JsonBlock} value=${preview.result} /></section>` : null}
            </div>`
          : null}
      </div>
    </div>
  <//>`;
}

export function FiltersPanel({ destination, canChange, reason }) {
  const [filters, setFilters] = useState(null);
  const [error, setError] = useState(null);
  const [editing, setEditing] = useState(null); // a filter, "new", or null
  const load = () => api.get(`/destinations/${destination.id}/filters`).then((list) => { setFilters(list); setError(null); }, setError);
  useEffect(() => { load(); }, []);

  if (error instanceof ApiError && (error.status === 404 || error.status === 405)) {
    return html`<div class="card"><${Empty} title="Filters are not available on this server yet">This headrace version does not run destination filters.<//></div>`;
  }
  const toggle = async (filter, enabled) => {
    setFilters(filters.map((f) => (f.id === filter.id ? { ...f, enabled } : f)));
    try {
      await api.patch(`/destinations/${destination.id}/filters/${filter.id}`, { enabled });
      load();
    } catch (err) {
      toast(err.message, "error");
      load();
    }
  };
  const remove = async (filter) => {
    if (!confirm(`Delete the filter “${filter.title || filter.id}”?`)) return;
    try {
      await api.del(`/destinations/${destination.id}/filters/${filter.id}`);
      toast("Filter deleted.");
      load();
    } catch (err) {
      toast(err.message, "error");
    }
  };
  return html`<div class="card flush">
    <div class="card-head" style="padding:14px 16px 0">
      <h2>Filters</h2>
      <${Button} disabled=${!canChange} reason=${reason} onClick=${() => setEditing("new")}>New filter<//>
    </div>
    <p class="muted" style="padding:0 16px">Filters decide which events reach this destination, and what of them. They run before the insert function.</p>
    <div style="padding:0 16px"><${ErrorBanner} error=${error} /></div>
    ${!filters && !error ? html`<${Loading} />` : null}
    ${filters && !filters.length ? html`<${Empty} title="No filters">Every event from the connected sources is sent.<//>` : null}
    ${filters?.length
      ? html`<div style="border-top:1px solid var(--line)">${filters.map((f) => html`<div class="filter-item" key=${f.id}>
          <div class="grow">
            <strong>${f.title || html`<span class="muted">Untitled filter</span>`}</strong> ${f.enabled === false ? html`<${Badge}>off<//>` : null}
            ${f.description ? html`<div class="muted small">${f.description}</div>` : null}
            <div style="margin-top:6px"><span class="fql">${f.if}</span></div>
            <div class="chips" style="margin-top:6px">${f.actions.map((a, i) => html`<${Badge} key=${i} kind="accent">${describe(a)}<//>`)}</div>
          </div>
          <${Switch} checked=${f.enabled !== false} disabled=${!canChange} reason=${reason} label="Enabled" onChange=${(v) => toggle(f, v)} />
          <${Button} small disabled=${!canChange} reason=${reason} onClick=${() => setEditing(f)}>Edit<//>
          <${Button} small kind="danger" disabled=${!canChange} reason=${reason} onClick=${() => remove(f)}>Delete<//>
        </div>`)}</div>`
      : null}
    ${editing
      ? html`<${FilterEditor} destinationId=${destination.id} filter=${editing === "new" ? null : editing}
          onClose=${() => setEditing(null)} onSaved=${() => { setEditing(null); load(); }} />`
      : null}
  </div>`;
}

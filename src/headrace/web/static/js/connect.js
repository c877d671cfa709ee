// Connecting: a destination (a function's instance or a webhook), a source (tracking, or a
// source function's instance), or an insert function attached to a destination.

import { html, useState } from "../vendor/preact.js";
import { api } from "./api.js";
import { navigate } from "./router.js";
import { SettingsForm, WEBHOOK_SCHEMA, initialValues, settingsPayload } from "./settings-form.js";
import { Banner, Button, ErrorBanner, Field, Modal, Switch, fieldError, toast } from "./ui.js";

function SourcePicker({ sources, selected, onChange, error, onCreated }) {
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [createError, setCreateError] = useState(null);
  const toggle = (id, on) => onChange(on ? [...selected, id] : selected.filter((s) => s !== id));
  const create = async () => {
    setBusy(true);
    setCreateError(null);
    try {
      const source = await api.post("/sources", { name: name.trim(), kind: "TRACKING" });
      onCreated(source);
      onChange([...selected, source.id]);
      setName("");
    } catch (err) {
      setCreateError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<fieldset class="field" style="border:0;padding:0;margin:0 0 14px">
    <legend class="label" style="font-weight:600;margin-bottom:6px">Sources</legend>
    ${sources.length
      ? html`<div class="stack" style="margin-bottom:8px">
          ${sources.map((source) => html`<label class="check" key=${source.id} style="display:flex">
            <input type="checkbox" checked=${selected.includes(source.id)}
              onChange=${(e) => toggle(source.id, e.currentTarget.checked)} />
            ${source.name} <span class="badge">${source.kind === "TRACKING" ? "Tracking" : "Function"}</span>
          </label>`)}
        </div>`
      : html`<p class="muted small">No sources yet: create a tracking source to send events with its write key.</p>`}
    <div class="row">
      <input type="text" placeholder="New tracking source name" aria-label="New tracking source name"
        value=${name} onInput=${(e) => setName(e.currentTarget.value)} />
      <${Button} busy=${busy} disabled=${!name.trim()} onClick=${create}>Create source<//>
    </div>
    ${createError ? html`<span class="field-error">${createError.message}</span>` : null}
    ${error ? html`<span class="field-error">${error.message}</span>` : null}
    <span class="help muted small" style="display:block;margin-top:4px">Events from these sources go to this destination.</span>
  </fieldset>`;
}

/** A new destination: `fn` given, an instance of it; else a choice of webhook or function. */
export function NewDestinationModal({ graph, fn = null, onClose, onCreated }) {
  const functions = graph.functions.filter((f) => f.resourceType === "DESTINATION");
  const [kind, setKind] = useState(fn ? "FUNCTION" : "WEBHOOK");
  const [functionId, setFunctionId] = useState(fn ? fn.id : functions[0]?.id || "");
  const chosen = graph.functions.find((f) => f.id === functionId) || null;
  const schema = kind === "WEBHOOK" ? WEBHOOK_SCHEMA : chosen?.settings || [];
  const [name, setName] = useState(fn ? fn.displayName : "");
  const [sources, setSources] = useState(graph.sources);
  const [sourceIds, setSourceIds] = useState(graph.sources.length === 1 ? [graph.sources[0].id] : []);
  const [values, setValues] = useState(() => initialValues(schema));
  const [enabled, setEnabled] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  const switchTo = (nextKind, nextFunctionId = functionId) => {
    setKind(nextKind);
    setFunctionId(nextFunctionId);
    const next = nextKind === "WEBHOOK" ? WEBHOOK_SCHEMA : graph.functions.find((f) => f.id === nextFunctionId)?.settings || [];
    setValues(initialValues(next));
  };

  const submit = async (event) => {
    event?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = { name: name.trim(), kind, sourceIds, settings: settingsPayload(schema, values), enabled };
      if (kind === "FUNCTION") body.functionId = functionId;
      const destination = await api.post("/destinations", body);
      toast(`Destination “${destination.name}” created.`);
      onCreated?.(destination);
      navigate(`/destinations/${destination.id}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return html`<${Modal} title=${fn ? `Connect “${fn.displayName}” as a destination` : "New destination"} onClose=${onClose}
    footer=${html`<${Button} onClick=${onClose}>Cancel<//>
      <${Button} kind="primary" busy=${busy} disabled=${!name.trim() || (kind === "FUNCTION" && !functionId)} onClick=${submit}>Create destination<//>`}>
    <form onSubmit=${submit}>
      ${fn ? null : html`<div class="choice-cards two">
        <button type="button" class=${`choice ${kind === "WEBHOOK" ? "selected" : ""}`} onClick=${() => switchTo("WEBHOOK")}>
          <strong>Webhook</strong><span>POST every event as JSON to a URL.</span>
        </button>
        <button type="button" class=${`choice ${kind === "FUNCTION" ? "selected" : ""}`} onClick=${() => switchTo("FUNCTION", functionId || functions[0]?.id || "")}>
          <strong>Destination function</strong><span>Run your code on every event.</span>
        </button>
      </div>`}
      <${ErrorBanner} error=${error} />
      ${kind === "FUNCTION" && !fn
        ? functions.length
          ? html`<${Field} label="Function" error=${fieldError(error, "functionId")}>
              <select value=${functionId} onChange=${(e) => switchTo("FUNCTION", e.currentTarget.value)}>
                ${functions.map((f) => html`<option value=${f.id}>${f.displayName} (v${f.latestVersion.version})</option>`)}
              </select>
            <//>`
          : html`<${Banner} kind="warn">There is no destination function yet. <a href="#/functions">Create one</a> first.<//>`
        : null}
      <${Field} label="Name" required error=${fieldError(error, "name")}>
        <input type="text" value=${name} onInput=${(e) => setName(e.currentTarget.value)} placeholder="e.g. Orders API" />
      <//>
      <${SourcePicker} sources=${sources} selected=${sourceIds} onChange=${setSourceIds}
        error=${error?.forPrefix?.("sourceIds")[0]} onCreated=${(s) => setSources([...sources, s])} />
      <h3>Settings</h3>
      <${SettingsForm} schema=${schema} values=${values} onChange=${setValues} error=${error} idPrefix="connect" />
      <${Switch} checked=${enabled} onChange=${setEnabled} label="Enabled" />
    </form>
  <//>`;
}

/** A new source: tracking (with a write key), or an instance of a source function. */
export function NewSourceModal({ graph, fn = null, onClose, onCreated }) {
  const functions = graph.functions.filter((f) => f.resourceType === "SOURCE");
  const [kind, setKind] = useState(fn ? "FUNCTION" : "TRACKING");
  const [functionId, setFunctionId] = useState(fn ? fn.id : functions[0]?.id || "");
  const chosen = graph.functions.find((f) => f.id === functionId) || null;
  const schema = kind === "FUNCTION" ? chosen?.settings || [] : [];
  const [name, setName] = useState(fn ? fn.displayName : "");
  const [values, setValues] = useState(() => initialValues(schema));
  const [enabled, setEnabled] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  const submit = async (event) => {
    event?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = { name: name.trim(), kind, enabled };
      if (kind === "FUNCTION") Object.assign(body, { functionId, settings: settingsPayload(schema, values) });
      const source = await api.post("/sources", body);
      toast(`Source “${source.name}” created.`);
      onCreated?.(source);
      navigate(`/sources/${source.id}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return html`<${Modal} title=${fn ? `Connect “${fn.displayName}” as a source` : "New source"} onClose=${onClose}
    footer=${html`<${Button} onClick=${onClose}>Cancel<//>
      <${Button} kind="primary" busy=${busy} disabled=${!name.trim() || (kind === "FUNCTION" && !functionId)} onClick=${submit}>Create source<//>`}>
    <form onSubmit=${submit}>
      ${fn ? null : html`<div class="choice-cards two">
        <button type="button" class=${`choice ${kind === "TRACKING" ? "selected" : ""}`} onClick=${() => setKind("TRACKING")}>
          <strong>Tracking</strong><span>Segment's libraries and the tracking API send events with its write key.</span>
        </button>
        <button type="button" class=${`choice ${kind === "FUNCTION" ? "selected" : ""}`} onClick=${() => { setKind("FUNCTION"); setValues(initialValues(chosen?.settings || [])); }}>
          <strong>Source function</strong><span>Your code turns webhook requests into events.</span>
        </button>
      </div>`}
      <${ErrorBanner} error=${error} />
      ${kind === "FUNCTION" && !fn
        ? functions.length
          ? html`<${Field} label="Function" error=${fieldError(error, "functionId")}>
              <select value=${functionId} onChange=${(e) => { setFunctionId(e.currentTarget.value); setValues(initialValues(graph.functions.find((f) => f.id === e.currentTarget.value)?.settings || [])); }}>
                ${functions.map((f) => html`<option value=${f.id}>${f.displayName} (v${f.latestVersion.version})</option>`)}
              </select>
            <//>`
          : html`<${Banner} kind="warn">There is no source function yet. <a href="#/functions">Create one</a> first.<//>`
        : null}
      <${Field} label="Name" required error=${fieldError(error, "name")}>
        <input type="text" value=${name} onInput=${(e) => setName(e.currentTarget.value)} placeholder="e.g. website" />
      <//>
      ${kind === "FUNCTION"
        ? html`<h3>Settings</h3><${SettingsForm} schema=${schema} values=${values} onChange=${setValues} error=${error} idPrefix="connect" />`
        : null}
      <${Switch} checked=${enabled} onChange=${setEnabled} label="Enabled" />
    </form>
  <//>`;
}

/** An insert function attached to a destination: `fn` or `destination` is fixed. */
export function AttachInsertModal({ graph, fn = null, destination = null, onClose, onCreated }) {
  const functions = graph.functions.filter((f) => f.resourceType === "INSERT_DESTINATION");
  const free = graph.destinations.filter((d) => !d.insertFunctionInstanceId);
  const [functionId, setFunctionId] = useState(fn ? fn.id : functions[0]?.id || "");
  const [destinationId, setDestinationId] = useState(destination ? destination.id : free[0]?.id || "");
  const chosen = graph.functions.find((f) => f.id === functionId) || null;
  const schema = chosen?.settings || [];
  const [values, setValues] = useState(() => initialValues(schema));
  const [enabled, setEnabled] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  const submit = async (event) => {
    event?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const instance = await api.post("/insert-function-instances", {
        functionId, destinationId, settings: settingsPayload(schema, values), enabled,
      });
      toast(`“${chosen.displayName}” now runs before the destination.`);
      onCreated?.(instance);
      navigate(`/destinations/${instance.destinationId}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return html`<${Modal} title=${fn ? `Attach “${fn.displayName}” to a destination` : "Attach an insert function"} onClose=${onClose}
    footer=${html`<${Button} onClick=${onClose}>Cancel<//>
      <${Button} kind="primary" busy=${busy} disabled=${!functionId || !destinationId} onClick=${submit}>Attach<//>`}>
    <form onSubmit=${submit}>
      <p class="muted">An insert function runs on each event after the destination's filters and before the destination; it can change or drop the event.</p>
      <${ErrorBanner} error=${error} />
      ${fn
        ? null
        : functions.length
          ? html`<${Field} label="Insert function">
              <select value=${functionId} onChange=${(e) => { setFunctionId(e.currentTarget.value); setValues(initialValues(graph.functions.find((f) => f.id === e.currentTarget.value)?.settings || [])); }}>
                ${functions.map((f) => html`<option value=${f.id}>${f.displayName} (v${f.latestVersion.version})</option>`)}
              </select>
            <//>`
          : html`<${Banner} kind="warn">There is no insert function yet. <a href="#/functions">Create one</a> first.<//>`}
      ${destination
        ? null
        : free.length
          ? html`<${Field} label="Destination" help="A destination has at most one insert function.">
              <select value=${destinationId} onChange=${(e) => setDestinationId(e.currentTarget.value)}>
                ${free.map((d) => html`<option value=${d.id}>${d.name}</option>`)}
              </select>
            <//>`
          : html`<${Banner} kind="warn">Every destination already has an insert function, or there is none yet. <a href="#/destinations">Destinations</a><//>`}
      <h3>Settings</h3>
      <${SettingsForm} schema=${schema} values=${values} onChange=${setValues} error=${error} idPrefix="connect" />
      <${Switch} checked=${enabled} onChange=${setEnabled} label="Enabled" />
    </form>
  <//>`;
}

/** The right way to connect `fn`, by its kind. */
export function ConnectModal({ fn, graph, onClose, onCreated }) {
  if (fn.resourceType === "SOURCE") return html`<${NewSourceModal} fn=${fn} graph=${graph} onClose=${onClose} onCreated=${onCreated} />`;
  if (fn.resourceType === "INSERT_DESTINATION") return html`<${AttachInsertModal} fn=${fn} graph=${graph} onClose=${onClose} onCreated=${onCreated} />`;
  return html`<${NewDestinationModal} fn=${fn} graph=${graph} onClose=${onClose} onCreated=${onCreated} />`;
}

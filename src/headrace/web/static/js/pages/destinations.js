// Destinations: webhooks and destination function instances; per destination its settings,
// sources, insert function, event delivery and filters.

import { html, useEffect, useState } from "../../vendor/preact.js";
import { REASONS, canChangeInstance, canEditFunction } from "../access.js";
import { api } from "../api.js";
import { AttachInsertModal, NewDestinationModal } from "../connect.js";
import { functionById, loadGraph } from "../data.js";
import { DeliveryPanel } from "../delivery.js";
import { FiltersPanel } from "../filters.js";
import { EnabledSwitch, InstanceSettings, RunsFunction, deleteInstance, usePinnedSchema } from "../instance.js";
import { navigate, setQuery } from "../router.js";
import { SettingsForm, WEBHOOK_SCHEMA, initialValues, settingsPayload } from "../settings-form.js";
import { Badge, Button, Empty, ErrorBanner, Field, Loading, Tabs, Time, fieldError, toast, useAsync } from "../ui.js";

export function DestinationsPage({ session }) {
  const { data: graph, error, loading } = useAsync(loadGraph, []);
  const [creating, setCreating] = useState(false);
  return html`<main class="page">
    <div class="page-head">
      <div class="titles">
        <h1>Destinations</h1>
        <div class="subtitle">Where events go: a webhook, or a destination function that calls any API.</div>
      </div>
      <${Button} kind="primary" disabled=${!session.sourceAdmin} reason=${REASONS.createSource} onClick=${() => setCreating(true)}>New destination<//>
    </div>
    <${ErrorBanner} error=${error} />
    ${loading && !graph ? html`<${Loading} />` : null}
    ${graph && !graph.destinations.length
      ? html`<div class="card"><${Empty} title="No destinations yet"
          actions=${session.sourceAdmin ? html`<${Button} kind="primary" onClick=${() => setCreating(true)}>New destination<//>` : null}>
          Send your events to a webhook, or to any API with a destination function.<//></div>`
      : null}
    ${graph?.destinations.length
      ? html`<div class="card flush"><table class="list">
          <thead><tr><th>Destination</th><th>Kind</th><th>Sources</th><th>Insert function</th><th>Status</th></tr></thead>
          <tbody>${graph.destinations.map((d) => {
            const fn = functionById(graph, d.functionId);
            const insert = graph.inserts.find((i) => i.id === d.insertFunctionInstanceId);
            const insertFn = insert && functionById(graph, insert.functionId);
            return html`<tr key=${d.id} class="clickable" onClick=${() => navigate(`/destinations/${d.id}`)}>
              <td class="name-cell"><a href=${`#/destinations/${d.id}`}>${d.name}</a>${fn ? html`<div class="desc">runs ${fn.displayName}</div>` : d.kind === "WEBHOOK" ? html`<div class="desc">${d.settings.url}</div>` : null}</td>
              <td>${d.kind === "WEBHOOK" ? html`<${Badge}>Webhook<//>` : html`<${Badge} kind="accent">Function<//>`}</td>
              <td>${d.sourceIds.length ? html`<div class="chips">${d.sourceIds.map((id) => html`<span class="badge">${graph.sources.find((s) => s.id === id)?.name || id}</span>`)}</div>` : html`<span class="faint">None</span>`}</td>
              <td>${insertFn ? insertFn.displayName : html`<span class="faint">—</span>`}</td>
              <td>${d.enabled ? html`<${Badge} kind="ok">Enabled<//>` : html`<${Badge}>Disabled<//>`}</td>
            </tr>`;
          })}</tbody>
        </table></div>`
      : null}
    ${creating ? html`<${NewDestinationModal} graph=${graph} onClose=${() => setCreating(false)} />` : null}
  </main>`;
}

function DestinationForm({ destination, graph, schema, canChange, reason, onSaved }) {
  const [name, setName] = useState(destination.name);
  const [sourceIds, setSourceIds] = useState(destination.sourceIds);
  const [values, setValues] = useState(() => initialValues(schema, destination.settings));
  const [batch, setBatch] = useState(destination.batch);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const save = async (event) => {
    event?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const saved = await api.patch(`/destinations/${destination.id}`, {
        name: name.trim(), sourceIds, settings: settingsPayload(schema, values, destination),
        batch: { maxEvents: Number(batch.maxEvents), maxWaitMs: Number(batch.maxWaitMs) },
      });
      toast("Destination saved.");
      onSaved(saved);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<form onSubmit=${save}>
    <${ErrorBanner} error=${error} />
    <${Field} label="Name" required error=${fieldError(error, "name")}>
      <input type="text" value=${name} disabled=${!canChange} onInput=${(e) => setName(e.currentTarget.value)} />
    <//>
    <fieldset class="field" style="border:0;padding:0;margin:0 0 14px">
      <legend style="font-weight:600;margin-bottom:6px">Sources</legend>
      ${graph.sources.length
        ? html`<div class="row wrap" style="gap:14px">${graph.sources.map((s) => html`<label class="check" key=${s.id}>
            <input type="checkbox" disabled=${!canChange} checked=${sourceIds.includes(s.id)}
              onChange=${(e) => setSourceIds(e.currentTarget.checked ? [...sourceIds, s.id] : sourceIds.filter((x) => x !== s.id))} />${s.name}</label>`)}</div>`
        : html`<p class="muted small">No sources yet. <a href="#/sources">Create one</a>.</p>`}
    </fieldset>
    <h3>Settings</h3>
    <${SettingsForm} schema=${schema} values=${values} onChange=${setValues} existing=${destination} error=${error} disabled=${!canChange} idPrefix="destination" />
    <h3>Batching</h3>
    <div class="inline-fields">
      <${Field} label="Events per batch" help="1–400; used by on_batch." error=${fieldError(error, "batch.maxEvents")}>
        <input type="number" min="1" max="400" disabled=${!canChange} value=${batch.maxEvents} onInput=${(e) => setBatch({ ...batch, maxEvents: e.currentTarget.value })} />
      <//>
      <${Field} label="Longest wait (ms)" help="0–60000" error=${fieldError(error, "batch.maxWaitMs")}>
        <input type="number" min="0" max="60000" disabled=${!canChange} value=${batch.maxWaitMs} onInput=${(e) => setBatch({ ...batch, maxWaitMs: e.currentTarget.value })} />
      <//>
    </div>
    <${Button} kind="primary" type="submit" busy=${busy} disabled=${!canChange} reason=${reason}>Save destination<//>
  </form>`;
}

function InsertCard({ destination, graph, session, canChange, onChanged }) {
  const insert = graph.inserts.find((i) => i.id === destination.insertFunctionInstanceId);
  const [attaching, setAttaching] = useState(false);
  const [canEditInsert, setCanEditInsert] = useState(false);
  const fn = insert && functionById(graph, insert.functionId);
  useEffect(() => {
    if (insert) canEditFunction(session, insert.functionId).then((ok) => setCanEditInsert(ok && canChange));
  }, [insert?.id, canChange]);
  const schema = usePinnedSchema(insert || { functionId: null });
  const path = insert && `/insert-function-instances/${insert.id}`;
  const canAttach = canChange && session.functionsAdmin;
  return html`<div class="card">
    <h2>Insert function</h2>
    ${insert
      ? html`<p><${RunsFunction} instance=${insert} fn=${fn} /></p>
          <div class="row" style="margin-bottom:12px">
            <${EnabledSwitch} instance=${insert} path=${path} canChange=${canEditInsert} reason=${REASONS.connect} onSaved=${onChanged} noun="Insert function" />
            <span class="grow"></span>
            <${Button} small kind="danger" disabled=${!canEditInsert} reason=${REASONS.connect}
              onClick=${() => deleteInstance(path, "insert function instance", fn?.displayName || insert.id, onChanged)}>Remove<//>
          </div>
          ${schema ? html`<${InstanceSettings} instance=${insert} schema=${schema} path=${path} canChange=${canEditInsert} reason=${REASONS.connect} onSaved=${onChanged} />` : html`<${Loading} />`}`
      : html`<p class="muted">An insert function can change or drop each event before this destination gets it.</p>
          <${Button} disabled=${!canAttach} reason=${REASONS.connect} onClick=${() => setAttaching(true)}>Attach an insert function<//>`}
    ${attaching ? html`<${AttachInsertModal} graph=${graph} destination=${destination} onClose=${() => setAttaching(false)} onCreated=${() => { setAttaching(false); onChanged(); }} />` : null}
  </div>`;
}

export function DestinationPage({ id, session, route }) {
  const [destination, setDestination] = useState(null);
  const [graph, setGraph] = useState(null);
  const [canChange, setCanChange] = useState(false);
  const [error, setError] = useState(null);
  const tab = route.query.tab || "overview";
  const load = async () => {
    try {
      const [loaded, loadedGraph] = await Promise.all([api.get(`/destinations/${id}`), loadGraph()]);
      setDestination(loaded);
      setGraph(loadedGraph);
      setCanChange(await canChangeInstance(session, "destinations", loaded));
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => { load(); }, [id]);
  const pinned = usePinnedSchema(destination || { functionId: null });
  if (error) return html`<main class="page"><${ErrorBanner} error=${error} /><a href="#/destinations">Back to destinations</a></main>`;
  if (!destination) return html`<${Loading} />`;
  const fn = functionById(graph, destination.functionId);
  const schema = destination.kind === "WEBHOOK" ? WEBHOOK_SCHEMA : pinned;
  const reason = REASONS.changeInstance;
  return html`<main class="page">
    <div class="page-head">
      <div class="titles">
        <div class="crumbs"><a href="#/destinations">Destinations</a></div>
        <h1>${destination.name} ${destination.kind === "WEBHOOK" ? html`<${Badge}>Webhook<//>` : html`<${Badge} kind="accent">Function<//>`}</h1>
        <div class="subtitle">${fn ? html`Runs <${RunsFunction} instance=${destination} fn=${fn} />` : `POSTs each event to ${destination.settings.url || "its URL"}.`}</div>
      </div>
      <${EnabledSwitch} instance=${destination} path=${`/destinations/${id}`} canChange=${canChange} reason=${reason} onSaved=${setDestination} noun="Destination" />
      <${Button} kind="danger" disabled=${!canChange} reason=${reason}
        onClick=${() => deleteInstance(`/destinations/${id}`, "destination", destination.name, () => navigate("/destinations"))}>Delete<//>
    </div>
    <${Tabs} active=${tab} onChange=${(t) => setQuery("tab", t === "overview" ? null : t)}
      tabs=${[{ id: "overview", label: "Overview" }, { id: "delivery", label: "Event delivery" }, { id: "filters", label: "Filters" }]} />
    ${tab === "overview"
      ? html`<div class="grid-main">
          <div class="card">
            ${schema
              ? html`<${DestinationForm} key=${destination.updatedAt} destination=${destination} graph=${graph} schema=${schema}
                  canChange=${canChange} reason=${reason} onSaved=${setDestination} />`
              : html`<${Loading} />`}
          </div>
          <div>
            <${InsertCard} destination=${destination} graph=${graph} session=${session} canChange=${canChange} onChanged=${load} />
            <div class="card"><h2>Details</h2><dl class="kv small">
              <dt>Id</dt><dd class="mono">${destination.id}</dd>
              <dt>Created</dt><dd><${Time} iso=${destination.createdAt} /></dd>
              <dt>Updated</dt><dd><${Time} iso=${destination.updatedAt} /></dd>
            </dl></div>
          </div>
        </div>`
      : null}
    ${tab === "delivery" ? html`<${DeliveryPanel} collection="destinations" instance=${destination} canChange=${canChange} reason=${reason} />` : null}
    ${tab === "filters" ? html`<${FiltersPanel} destination=${destination} canChange=${canChange} reason=${reason} />` : null}
  </main>`;
}

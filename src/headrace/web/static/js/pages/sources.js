// Sources: tracking sources (write key) and function sources (webhook URL, settings), and
// the event delivery of each.

import { html, useEffect, useState } from "../../vendor/preact.js";
import { REASONS, canChangeInstance } from "../access.js";
import { api } from "../api.js";
import { NewSourceModal } from "../connect.js";
import { functionById, loadGraph } from "../data.js";
import { DeliveryPanel } from "../delivery.js";
import { EnabledSwitch, InstanceSettings, RunsFunction, deleteInstance, usePinnedSchema } from "../instance.js";
import { navigate, setQuery } from "../router.js";
import { Badge, Button, CopyField, Empty, ErrorBanner, Loading, Tabs, Time, toast, useAsync } from "../ui.js";

export function SourcesPage({ session }) {
  const { data: graph, error, loading } = useAsync(loadGraph, []);
  const [creating, setCreating] = useState(false);
  return html`<main class="page">
    <div class="page-head">
      <div class="titles">
        <h1>Sources</h1>
        <div class="subtitle">Where events come from: the tracking API with a write key, or a source function's webhook.</div>
      </div>
      <${Button} kind="primary" disabled=${!session.sourceAdmin} reason=${REASONS.createSource} onClick=${() => setCreating(true)}>New source<//>
    </div>
    <${ErrorBanner} error=${error} />
    ${loading && !graph ? html`<${Loading} />` : null}
    ${graph && !graph.sources.length
      ? html`<div class="card"><${Empty} title="No sources yet"
          actions=${session.sourceAdmin ? html`<${Button} kind="primary" onClick=${() => setCreating(true)}>New source<//>` : null}>
          Create a tracking source, then send events to it with Segment's libraries or curl.<//></div>`
      : null}
    ${graph?.sources.length
      ? html`<div class="card flush"><table class="list">
          <thead><tr><th>Source</th><th>Kind</th><th>Destinations</th><th>Status</th><th>Created</th></tr></thead>
          <tbody>${graph.sources.map((s) => {
            const fn = functionById(graph, s.functionId);
            const destinations = graph.destinations.filter((d) => d.sourceIds.includes(s.id));
            return html`<tr key=${s.id} class="clickable" onClick=${() => navigate(`/sources/${s.id}`)}>
              <td class="name-cell"><a href=${`#/sources/${s.id}`}>${s.name}</a>${fn ? html`<div class="desc">runs ${fn.displayName}</div>` : null}</td>
              <td>${s.kind === "TRACKING" ? html`<${Badge}>Tracking<//>` : html`<${Badge} kind="ok">Function<//>`}</td>
              <td>${destinations.length ? html`<div class="chips">${destinations.map((d) => html`<span class="badge">${d.name}</span>`)}</div>` : html`<span class="faint">None</span>`}</td>
              <td>${s.enabled ? html`<${Badge} kind="ok">Enabled<//>` : html`<${Badge}>Disabled<//>`}</td>
              <td><${Time} iso=${s.createdAt} /></td>
            </tr>`;
          })}</tbody>
        </table></div>`
      : null}
    ${creating ? html`<${NewSourceModal} graph=${graph} onClose=${() => setCreating(false)} />` : null}
  </main>`;
}

function SendEvents({ source }) {
  const origin = location.origin;
  if (source.kind === "TRACKING") {
    return html`<div class="card">
      <h2>Send events</h2>
      <p class="muted">Use the write key with the tracking API, or with Segment's libraries pointed at <span class="kbd">${origin}</span>.</p>
      <div class="field" style="margin-bottom:12px"><div class="label" style="font-weight:600;margin-bottom:5px">Write key</div>
        <${CopyField} value=${source.writeKey} label="Write key" /></div>
      <pre class="block">curl -u '${source.writeKey}:' -H 'Content-Type: application/json' \\
  ${origin}/v1/track -d '{"userId": "u1", "event": "Signed Up"}'</pre>
    </div>`;
  }
  return html`<${WebhookCard} source=${source} />`;
}

function WebhookCard({ source }) {
  const [current, setCurrent] = useState(source);
  const [busy, setBusy] = useState(false);
  const rotate = async () => {
    if (!confirm("Make a new webhook URL? The current one stops working at once.")) return;
    setBusy(true);
    try {
      setCurrent(await api.post(`/sources/${source.id}/rotate-webhook-token`));
      toast("New webhook URL made; the old one no longer works.");
    } catch (err) {
      toast(err.message, "error");
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="card">
    <h2>Webhook URL</h2>
    ${current.webhookUrl
      ? html`<p class="muted">Each request to this URL runs the source function; the events it emits enter this source.</p>
          <div class="row"><div class="grow"><${CopyField} value=${current.webhookUrl} label="Webhook URL" /></div>
            <${Button} busy=${busy} onClick=${rotate}>Rotate<//></div>
          <pre class="block" style="margin-top:10px">curl -H 'Content-Type: application/json' ${current.webhookUrl} \\
  -d '{"type": "track", "userId": "u1", "event": "Invoice Paid"}'</pre>`
      : html`<p class="muted">This server does not give function sources a webhook URL yet.</p>`}
  </div>`;
}

export function SourcePage({ id, session, route }) {
  const [source, setSource] = useState(null);
  const [graph, setGraph] = useState(null);
  const [canChange, setCanChange] = useState(false);
  const [error, setError] = useState(null);
  const tab = route.query.tab || "overview";
  useEffect(() => {
    (async () => {
      try {
        const [loaded, loadedGraph] = await Promise.all([api.get(`/sources/${id}`), loadGraph()]);
        setSource(loaded);
        setGraph(loadedGraph);
        setCanChange(await canChangeInstance(session, "sources", loaded));
      } catch (err) {
        setError(err);
      }
    })();
  }, [id]);
  if (error) return html`<main class="page"><${ErrorBanner} error=${error} /><a href="#/sources">Back to sources</a></main>`;
  if (!source) return html`<${Loading} />`;
  const fn = functionById(graph, source.functionId);
  const destinations = graph.destinations.filter((d) => d.sourceIds.includes(source.id));
  const reason = REASONS.changeInstance;
  return html`<main class="page">
    <div class="page-head">
      <div class="titles">
        <div class="crumbs"><a href="#/sources">Sources</a></div>
        <h1>${source.name} ${source.kind === "TRACKING" ? html`<${Badge}>Tracking<//>` : html`<${Badge} kind="ok">Function<//>`}</h1>
        <div class="subtitle">${fn ? html`Runs <${RunsFunction} instance=${source} fn=${fn} />` : "Receives events from the tracking API."}</div>
      </div>
      <${EnabledSwitch} instance=${source} path=${`/sources/${id}`} canChange=${canChange} reason=${reason} onSaved=${setSource} noun="Source" />
      <${Button} kind="danger" disabled=${!canChange} reason=${reason}
        onClick=${() => deleteInstance(`/sources/${id}`, "source", source.name, () => navigate("/sources"))}>Delete<//>
    </div>
    <${Tabs} active=${tab} onChange=${(t) => setQuery("tab", t === "overview" ? null : t)}
      tabs=${[{ id: "overview", label: "Overview" }, { id: "delivery", label: "Event delivery" }]} />
    ${tab === "overview"
      ? html`<div class="grid-main">
          <div>
            <${SendEvents} source=${source} />
            ${source.kind === "FUNCTION"
              ? html`<div class="card"><h2>Settings</h2><${SourceSettings} source=${source} canChange=${canChange} reason=${reason} onSaved=${setSource} /></div>`
              : null}
          </div>
          <div>
            <div class="card">
              <h2>Destinations</h2>
              ${destinations.length
                ? html`<ul style="margin:0;padding-left:18px">${destinations.map((d) => html`<li key=${d.id}><a href=${`#/destinations/${d.id}`}>${d.name}</a>${d.enabled ? "" : " (disabled)"}</li>`)}</ul>`
                : html`<p class="muted">No destination receives this source's events yet. <a href="#/destinations">Connect one</a>.</p>`}
            </div>
            <div class="card"><h2>Details</h2><dl class="kv small">
              <dt>Id</dt><dd class="mono">${source.id}</dd>
              <dt>Created</dt><dd><${Time} iso=${source.createdAt} /></dd>
              <dt>Updated</dt><dd><${Time} iso=${source.updatedAt} /></dd>
            </dl></div>
          </div>
        </div>`
      : html`<${DeliveryPanel} collection="sources" instance=${source} canChange=${canChange} reason=${reason} />`}
  </main>`;
}

function SourceSettings({ source, canChange, reason, onSaved }) {
  const schema = usePinnedSchema(source);
  if (!schema) return html`<${Loading} />`;
  return html`<${InstanceSettings} instance=${source} schema=${schema} path=${`/sources/${source.id}`}
    canChange=${canChange} reason=${reason} onSaved=${onSaved} />`;
}

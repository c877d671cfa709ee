// The functions catalog: the workspace's functions by kind, their instances, latest and
// deployed versions; "New function" starts one from its kind's template.

import { html, useState } from "../../vendor/preact.js";
import { REASONS } from "../access.js";
import { api } from "../api.js";
import { ConnectModal } from "../connect.js";
import { instancesOf, loadGraph } from "../data.js";
import { navigate } from "../router.js";
import { TEMPLATES } from "../templates.js";
import { Badge, Button, Empty, ErrorBanner, Field, Loading, Modal, fieldError, useAsync } from "../ui.js";

export const KINDS = [
  {
    id: "DESTINATION", title: "Destination functions", singular: "Destination",
    blurb: "Send each event to any API with fetch.",
  },
  {
    id: "INSERT_DESTINATION", title: "Insert functions", singular: "Insert",
    blurb: "Change or drop events on their way to a destination.",
  },
  {
    id: "SOURCE", title: "Source functions", singular: "Source",
    blurb: "Turn webhook requests into events.",
  },
];

export function NewFunctionModal({ initialKind = "DESTINATION", onClose }) {
  const [kind, setKind] = useState(initialKind);
  const [displayName, setDisplayName] = useState("");
  const [description, setDescription] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const template = TEMPLATES[kind];
      const fn = await api.post("/functions", {
        displayName: displayName.trim(), description: description.trim(), resourceType: kind,
        code: template.code, settings: template.settings,
      });
      navigate(`/functions/${fn.id}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return html`<${Modal} title="New function" onClose=${onClose}
    footer=${html`<${Button} onClick=${onClose}>Cancel<//>
      <${Button} kind="primary" busy=${busy} disabled=${!displayName.trim()} onClick=${submit}>Create function<//>`}>
    <form onSubmit=${submit}>
      <div class="choice-cards" role="radiogroup" aria-label="Kind">
        ${KINDS.map((k) => html`<button type="button" role="radio" aria-checked=${kind === k.id}
            class=${`choice ${kind === k.id ? "selected" : ""}`} onClick=${() => setKind(k.id)}>
          <strong>${k.singular}</strong><span>${k.blurb}</span>
        </button>`)}
      </div>
      <${ErrorBanner} error=${error && !error.forField?.("displayName") ? error : null} />
      <${Field} label="Name" required error=${fieldError(error, "displayName")}>
        <input type="text" value=${displayName} autofocus placeholder="e.g. Send orders to our CRM"
          onInput=${(e) => setDisplayName(e.currentTarget.value)} />
      <//>
      <${Field} label="Description">
        <textarea rows="2" value=${description} onInput=${(e) => setDescription(e.currentTarget.value)}></textarea>
      <//>
      <p class="muted small">It starts from a template with a handler for every event type; change it in the editor, run it on a test event, then save.</p>
    </form>
  <//>`;
}

function VersionsCell({ fn }) {
  const deployed = fn.deployedVersions.filter((v) => v.instanceIds.length);
  return html`<div class="chips">
    <${Badge} kind="accent" title="Latest version">latest v${fn.latestVersion.version}<//>
    ${deployed.map((v) => html`<${Badge} kind=${v.id === fn.latestVersion.id ? "ok" : "warn"}
        title=${`${v.instanceIds.length} instance(s) run version ${v.version}`}>
      v${v.version} on ${v.instanceIds.length}<//>`)}
  </div>`;
}

function KindSection({ kind, functions, graph, session, onNew, onConnect }) {
  const canConnect = session.sourceAdmin && session.functionsAdmin;
  return html`<section class="card flush" style="margin-bottom:16px" aria-label=${kind.title}>
    <div class="card-head" style="padding:14px 16px 0">
      <h2>${kind.title} <span class="muted" style="font-weight:normal">${functions.length}</span></h2>
      <span class="muted small">${kind.blurb}</span>
    </div>
    ${functions.length
      ? html`<table class="list">
          <thead><tr><th style="width:36%">Function</th><th>Versions</th><th>Instances</th><th></th></tr></thead>
          <tbody>
            ${functions.map((fn) => {
              const instances = instancesOf(fn, graph);
              return html`<tr key=${fn.id}>
                <td class="name-cell">
                  <a href=${`#/functions/${fn.id}`}>${fn.displayName}</a>
                  ${fn.description ? html`<div class="desc">${fn.description}</div>` : null}
                </td>
                <td><${VersionsCell} fn=${fn} /></td>
                <td>
                  ${instances.length
                    ? html`<div class="chips">${instances.map((i) => html`<a class="badge" href=${i.href} key=${i.id}>${i.name}${i.enabled ? "" : " (off)"}</a>`)}</div>`
                    : html`<span class="faint">Not connected</span>`}
                </td>
                <td class="num">
                  <${Button} small disabled=${!canConnect} reason=${REASONS.connect} onClick=${() => onConnect(fn)}>Connect<//>
                </td>
              </tr>`;
            })}
          </tbody>
        </table>`
      : html`<${Empty} title=${`No ${kind.singular.toLowerCase()} functions yet`}
          actions=${session.functionsAdmin ? html`<${Button} onClick=${() => onNew(kind.id)}>New ${kind.singular.toLowerCase()} function<//>` : null}>
          ${kind.blurb}
        <//>`}
  </section>`;
}

export function CatalogPage({ session }) {
  const { data: graph, error, loading } = useAsync(loadGraph, []);
  const [creating, setCreating] = useState(null);
  const [connecting, setConnecting] = useState(null);

  return html`<main class="page">
    <div class="page-head">
      <div class="titles">
        <h1>Functions</h1>
        <div class="subtitle">Python code that headrace runs on your events, in a locked-down sandbox.</div>
      </div>
      <${Button} kind="primary" disabled=${!session.functionsAdmin} reason=${REASONS.createFunction}
        onClick=${() => setCreating("DESTINATION")}>New function<//>
    </div>
    <${ErrorBanner} error=${error} />
    ${loading && !graph ? html`<${Loading} />` : null}
    ${graph
      ? KINDS.map((kind) => html`<${KindSection} key=${kind.id} kind=${kind} graph=${graph} session=${session}
          functions=${graph.functions.filter((f) => f.resourceType === kind.id)}
          onNew=${setCreating} onConnect=${setConnecting} />`)
      : null}
    ${creating ? html`<${NewFunctionModal} initialKind=${creating} onClose=${() => setCreating(null)} />` : null}
    ${connecting ? html`<${ConnectModal} fn=${connecting} graph=${graph} onClose=${() => setConnecting(null)} />` : null}
  </main>`;
}

// The audit trail (owners only): who changed what, newest first, with the changed fields.

import { html, useState } from "../../vendor/preact.js";
import { REASONS } from "../access.js";
import { api, query } from "../api.js";
import { loadMemberNames } from "../data.js";
import { Badge, Button, Empty, ErrorBanner, Field, Loading, formatTime, useAsync } from "../ui.js";

const RESOURCE_LINKS = { function: "functions", source: "sources", destination: "destinations" };

function summary(details) {
  return Object.entries(details || {})
    .map(([key, value]) => `${key}: ${typeof value === "object" ? JSON.stringify(value) : value}`)
    .join(" · ");
}

export function AuditPage({ session, route }) {
  const [resourceId, setResourceId] = useState(route.query.resourceId || "");
  const [since, setSince] = useState("");
  const [filters, setFilters] = useState({ resourceId: route.query.resourceId || "", since: "" });
  const { data: names } = useAsync(() => loadMemberNames(session), []);
  const { data: entries, error, loading } = useAsync(
    () => (session.owner
      ? api.get(`/audit${query({ resourceId: filters.resourceId, since: filters.since ? new Date(filters.since).toISOString() : "" })}`)
      : Promise.resolve(null)),
    [filters.resourceId, filters.since],
  );
  if (!session.owner) {
    return html`<main class="page"><h1>Audit trail</h1><div class="card" style="margin-top:16px"><${Empty} title="Owners only">${REASONS.owner}<//></div></main>`;
  }
  return html`<main class="page">
    <div class="page-head"><div class="titles"><h1>Audit trail</h1>
      <div class="subtitle">Every change to functions, sources, destinations, members and tokens; secret values are never recorded.</div></div></div>
    <form class="card row" style="align-items:flex-end;margin-bottom:16px" onSubmit=${(e) => { e.preventDefault(); setFilters({ resourceId: resourceId.trim(), since }); }}>
      <div class="grow"><${Field} label="Resource id"><input type="search" placeholder="fn_…, dst_…, src_…" value=${resourceId} onInput=${(e) => setResourceId(e.currentTarget.value)} /><//></div>
      <div><${Field} label="Since"><input type="datetime-local" value=${since} onInput=${(e) => setSince(e.currentTarget.value)} /><//></div>
      <div style="margin-bottom:14px"><${Button} type="submit">Apply<//></div>
    </form>
    <${ErrorBanner} error=${error} />
    ${loading && !entries ? html`<${Loading} />` : null}
    ${entries && !entries.length ? html`<div class="card"><${Empty} title="Nothing recorded">No change matches these filters.<//></div>` : null}
    ${entries?.length
      ? html`<div class="card flush"><table class="list" aria-label="Audit entries">
          <thead><tr><th>When</th><th>Action</th><th>Resource</th><th>By</th><th>Details</th></tr></thead>
          <tbody>${entries.map((e) => html`<tr key=${e.id}>
            <td class="nowrap">${formatTime(e.at)}</td>
            <td><${Badge} kind=${e.action.endsWith("deleted") ? "bad" : e.action.endsWith("deployed") ? "ok" : "accent"}>${e.action}<//></td>
            <td class="mono small">${RESOURCE_LINKS[e.resourceType]
              ? html`<a href=${`#/${RESOURCE_LINKS[e.resourceType]}/${e.resourceId}`}>${e.resourceId}</a>`
              : e.resourceId}</td>
            <td class="small" title=${e.actor}>${(names && names[e.actor]) || e.actor || "—"}</td>
            <td class="small muted" style="word-break:break-word">${summary(e.details)}</td>
          </tr>`)}</tbody>
        </table></div>`
      : null}
  </main>`;
}

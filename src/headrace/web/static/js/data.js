// The workspace's functions and their instances, loaded together so that pages can say which
// source or destination runs which version of which function; and the delivery answers of
// destinations and sources read into one shape.

import { api } from "./api.js";

export async function loadGraph() {
  const [functions, sources, destinations, inserts] = await Promise.all([
    api.get("/functions"),
    api.get("/sources"),
    api.get("/destinations"),
    api.get("/insert-function-instances"),
  ]);
  return { functions, sources, destinations, inserts };
}

/** The version number `versionId` has in `fn`, from its latest and deployed versions. */
export function versionNumber(fn, versionId) {
  if (!fn || !versionId) return null;
  if (fn.latestVersion.id === versionId) return fn.latestVersion.version;
  const deployed = fn.deployedVersions.find((v) => v.id === versionId);
  return deployed ? deployed.version : null;
}

/** Every instance of `fn`: FUNCTION sources and destinations, and insert instances. */
export function instancesOf(fn, graph) {
  const named = (id) => graph.destinations.find((d) => d.id === id)?.name || id;
  if (fn.resourceType === "SOURCE") {
    return graph.sources
      .filter((s) => s.functionId === fn.id)
      .map((s) => ({ id: s.id, name: s.name, kind: "source", versionId: s.versionId, enabled: s.enabled, href: `#/sources/${s.id}` }));
  }
  if (fn.resourceType === "DESTINATION") {
    return graph.destinations
      .filter((d) => d.functionId === fn.id)
      .map((d) => ({ id: d.id, name: d.name, kind: "destination", versionId: d.versionId, enabled: d.enabled, href: `#/destinations/${d.id}` }));
  }
  return graph.inserts
    .filter((i) => i.functionId === fn.id)
    .map((i) => ({
      id: i.id, name: `Before ${named(i.destinationId)}`, kind: "insert", versionId: i.versionId,
      enabled: i.enabled, href: `#/destinations/${i.destinationId}`,
    }));
}

export function functionById(graph, id) {
  return graph.functions.find((f) => f.id === id) || null;
}

/** Member id → name (or email), for owners, who may list members; empty for others. */
export async function loadMemberNames(session) {
  if (!session.owner) return {};
  try {
    const members = await api.get("/members");
    return Object.fromEntries(members.map((m) => [m.id, m.name || m.email || m.id]));
  } catch {
    return {};
  }
}

/** Totals and series from either answer shape: `{totals, series, latencyMs}` or `{outcomes: [{status, category, count}]}`. */
export function normalizeDelivery(data) {
  const totals = { delivered: 0, retrying: 0, filtered: 0, expired: 0, failed: 0, failedByCategory: {} };
  if (data.totals) {
    Object.assign(totals, data.totals, { failedByCategory: { ...(data.totals.failedByCategory || {}) } });
  } else {
    for (const outcome of data.outcomes || []) {
      totals[outcome.status] = (totals[outcome.status] || 0) + outcome.count;
      if (outcome.status === "failed" && outcome.category) {
        totals.failedByCategory[outcome.category] = (totals.failedByCategory[outcome.category] || 0) + outcome.count;
      }
    }
  }
  const intake = data.events && !Array.isArray(data.events) ? data.events : null;
  return { from: data.from, to: data.to, totals, series: data.series || null, latency: data.latencyMs || null, intake };
}

/** Recent records from either answer shape: a list, or `{records, objects}`. */
export function normalizeEvents(data) {
  const list = Array.isArray(data) ? data : data?.records || [];
  return list.map((record) => ({ ...record, id: record.messageId || record.requestId || record.at }));
}

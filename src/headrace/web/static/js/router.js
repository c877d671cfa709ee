// Hash routes (`#/functions/fn_…?tab=test`): the server serves one page at `/`, and every
// view has an address that survives a reload and can be shared.

import { useEffect, useState } from "../vendor/preact.js";

export function currentRoute() {
  const hash = location.hash.replace(/^#/, "") || "/functions";
  const [path, search = ""] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { path, parts, query: Object.fromEntries(new URLSearchParams(search)) };
}

export function useRoute() {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return route;
}

export function navigate(path) {
  location.hash = `#${path}`;
}

/** Changes one query parameter of the current address without a new history entry. */
export function setQuery(key, value) {
  const { path, query } = currentRoute();
  const next = { ...query, [key]: value };
  if (value === null || value === undefined || value === "") delete next[key];
  const search = new URLSearchParams(next).toString();
  history.replaceState(null, "", `#${path}${search ? `?${search}` : ""}`);
  dispatchEvent(new HashChangeEvent("hashchange"));
}

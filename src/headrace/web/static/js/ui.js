// Small building blocks shared by the pages: buttons that say why they are disabled, error
// banners fed by the API's error envelope, modals, tabs, switches, toasts and formatting.

import { html, render, useCallback, useEffect, useRef, useState } from "../vendor/preact.js";
import { ApiError } from "./api.js";

/** `{data, error, loading, reload, setData}` for an async loader run when `deps` change. */
export function useAsync(loader, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const generation = useRef(0);
  const run = useCallback(async () => {
    const mine = ++generation.current;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await loader();
      if (mine === generation.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (mine === generation.current) setState({ data: null, error, loading: false });
    }
  }, deps);
  useEffect(() => {
    run();
  }, [run]);
  const setData = (update) =>
    setState((s) => ({ ...s, data: typeof update === "function" ? update(s.data) : update }));
  return { ...state, reload: run, setData };
}

export function Button({ kind = "", small, disabled, reason, busy, onClick, type = "button", children, ...rest }) {
  const classes = [kind, small ? "small" : ""].filter(Boolean).join(" ");
  return html`<button
    ...${rest}
    type=${type}
    class=${classes}
    disabled=${disabled || busy}
    title=${disabled && reason ? reason : rest.title}
    data-reason=${disabled && reason ? reason : undefined}
    onClick=${onClick}
  >${busy ? html`<span class="spinner" aria-hidden="true"></span>` : null}${children}</button>`;
}

/** The messages of an ApiError (with the field each is about), or of any other error. */
export function ErrorBanner({ error, title, onLine }) {
  if (!error) return null;
  const errors =
    error instanceof ApiError ? error.errors : [{ message: String(error.message || error) }];
  return html`<div class="banner error" role="alert">
    <div>
      ${title ? html`<strong>${title}</strong>` : null}
      ${errors.length === 1 && !title
        ? html`<${ErrorLine} error=${errors[0]} onLine=${onLine} />`
        : html`<ul>${errors.map((e) => html`<li><${ErrorLine} error=${e} onLine=${onLine} /></li>`)}</ul>`}
    </div>
  </div>`;
}

function ErrorLine({ error, onLine }) {
  return html`<span>
    ${error.field ? html`<span class="field-name">${error.field}: </span>` : null}${error.message}
    ${error.line && onLine
      ? html` <button class="ghost small" onClick=${() => onLine(error.line)}>Go to line ${error.line}</button>`
      : null}
  </span>`;
}

export function Banner({ kind = "info", children }) {
  return html`<div class=${`banner ${kind}`}><div>${children}</div></div>`;
}

export function Loading({ label = "Loading…" }) {
  return html`<div class="loading"><span class="spinner"></span>${label}</div>`;
}

export function Empty({ title, children, actions }) {
  return html`<div class="empty">
    <h3>${title}</h3>
    ${children ? html`<p>${children}</p>` : null}
    ${actions ? html`<div class="actions">${actions}</div>` : null}
  </div>`;
}

export function Modal({ title, wide, onClose, footer, children, label }) {
  useEffect(() => {
    const onKey = (event) => event.key === "Escape" && onClose();
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, [onClose]);
  return html`<div class="backdrop" onMouseDown=${(e) => e.target === e.currentTarget && onClose()}>
    <div class=${`modal ${wide ? "wide" : ""}`} role="dialog" aria-modal="true" aria-label=${label || title}>
      <div class="modal-head">
        <h2>${title}</h2>
        <button class="ghost" aria-label="Close" onClick=${onClose}>✕</button>
      </div>
      <div class="modal-body">${children}</div>
      ${footer ? html`<div class="modal-foot">${footer}</div>` : null}
    </div>
  </div>`;
}

export function Tabs({ tabs, active, onChange }) {
  return html`<div class="tabs" role="tablist">
    ${tabs.map(
      (tab) => html`<button
        role="tab"
        aria-selected=${tab.id === active}
        class=${tab.id === active ? "active" : ""}
        disabled=${tab.disabled}
        title=${tab.disabled ? tab.reason : undefined}
        onClick=${() => onChange(tab.id)}
      >${tab.label}</button>`,
    )}
  </div>`;
}

export function Switch({ checked, onChange, disabled, reason, label, busy }) {
  return html`<label class=${`switch ${disabled ? "disabled" : ""}`} title=${disabled ? reason : undefined}>
    <input
      type="checkbox"
      role="switch"
      checked=${checked}
      disabled=${disabled || busy}
      aria-label=${label}
      onChange=${(e) => onChange(e.currentTarget.checked)}
    />
    <span class="track"></span>
    <span>${label}</span>
  </label>`;
}

export function Field({ label, required, help, error, children }) {
  return html`<div class="field">
    <label>
      <span class="label">${label}${required ? html`<span class="req" aria-hidden="true">*</span>` : null}</span>
      ${children}
    </label>
    ${error ? html`<span class="field-error">${error.message || error}</span>` : null}
    ${help ? html`<span class="help">${help}</span>` : null}
  </div>`;
}

export function Badge({ kind = "", children, title }) {
  return html`<span class=${`badge ${kind}`} title=${title}>${children}</span>`;
}

export function JsonBlock({ value, label }) {
  return html`<pre class="block" aria-label=${label}>${JSON.stringify(value, null, 2)}</pre>`;
}

export function CopyField({ value, label }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      toast("The browser did not allow copying; select the text instead.", "error");
    }
  };
  return html`<div class="copy-field">
    <input type="text" readonly value=${value} aria-label=${label} onFocus=${(e) => e.currentTarget.select()} />
    <${Button} onClick=${copy}>${copied ? "Copied" : "Copy"}<//>
  </div>`;
}

// ---- toasts ----

let toastSeq = 0;
const toastHost = document.createElement("div");
document.body.appendChild(toastHost);
let toasts = [];

function drawToasts() {
  render(
    html`<div class="toasts" aria-live="polite">
      ${toasts.map((t) => html`<div key=${t.id} class=${`toast ${t.kind}`} role="status">${t.message}</div>`)}
    </div>`,
    toastHost,
  );
}

/** A short message in the corner for a few seconds. */
export function toast(message, kind = "") {
  const id = ++toastSeq;
  toasts = [...toasts, { id, message, kind }];
  drawToasts();
  setTimeout(() => {
    toasts = toasts.filter((t) => t.id !== id);
    drawToasts();
  }, kind === "error" ? 8000 : 4500);
}

// ---- formatting ----

export function formatTime(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

export function relativeTime(iso) {
  if (!iso) return "—";
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  return formatTime(iso);
}

export function Time({ iso }) {
  return html`<time datetime=${iso} title=${formatTime(iso)}>${relativeTime(iso)}</time>`;
}

export function formatNumber(n) {
  return (n ?? 0).toLocaleString();
}

export function formatMs(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export const KIND_LABELS = {
  DESTINATION: "Destination",
  INSERT_DESTINATION: "Insert",
  SOURCE: "Source",
};

export const KIND_BADGES = { DESTINATION: "accent", INSERT_DESTINATION: "violet", SOURCE: "ok" };

/** The ApiError's message for one field, for showing under its input. */
export function fieldError(error, field) {
  return error instanceof ApiError ? error.forField(field) : null;
}

// The form that whoever connects a function fills in, drawn from the function's setting
// schema. Sensitive values are typed into password inputs and never shown back: a stored
// one shows as a placeholder and is kept unless a new value is typed.

import { html } from "../vendor/preact.js";
import { Button, Field, fieldError } from "./ui.js";

export const SETTING_TYPES = [
  { value: "STRING", label: "Text" },
  { value: "BOOLEAN", label: "Yes / no" },
  { value: "ARRAY", label: "List of text" },
  { value: "TEXT_MAP", label: "Map of text" },
];

/** The settings of a WEBHOOK destination, as the API checks them. */
export const WEBHOOK_SCHEMA = [
  {
    name: "url", label: "URL", type: "STRING", required: true, sensitive: false,
    description: "http or https. Each event is POSTed to it as JSON.",
  },
  {
    name: "headers", label: "Headers", type: "TEXT_MAP", required: false, sensitive: true,
    description: "Sent with every request, e.g. Authorization.",
  },
  {
    name: "sendBatches", label: "Send batches", type: "BOOLEAN", required: false, sensitive: false,
    description: "POST a JSON array of up to the batch size per request instead of one event per request.",
  },
];

/** Form values for `schema` from an instance's `settings` (sensitive ones start empty). */
export function initialValues(schema, settings = {}) {
  const values = {};
  for (const setting of schema) {
    const stored = setting.sensitive ? undefined : settings[setting.name];
    if (setting.type === "BOOLEAN") values[setting.name] = stored === true;
    else if (setting.type === "ARRAY") values[setting.name] = Array.isArray(stored) ? stored.join("\n") : "";
    else if (setting.type === "TEXT_MAP") {
      const rows = stored && typeof stored === "object" ? Object.entries(stored) : [];
      values[setting.name] = rows.length ? rows : [["", ""]];
    } else values[setting.name] = typeof stored === "string" ? stored : "";
  }
  return values;
}

function isEmpty(setting, value) {
  if (setting.type === "BOOLEAN") return !value;
  if (setting.type === "TEXT_MAP") return !value.some(([key]) => key.trim());
  return !String(value ?? "").trim();
}

function toApiValue(setting, value) {
  if (setting.type === "BOOLEAN") return !!value;
  if (setting.type === "ARRAY") return value.split("\n").map((line) => line.trim()).filter(Boolean);
  if (setting.type === "TEXT_MAP") {
    return Object.fromEntries(value.filter(([key]) => key.trim()).map(([key, v]) => [key.trim(), v]));
  }
  return value;
}

/**
 * The `settings` to send. Without `existing` (a create), empty ones (and unticked yes/no
 * ones that are not required) are left out. With the instance being changed, an empty
 * sensitive setting keeps its stored value and an emptied plain one is removed (`null`).
 */
export function settingsPayload(schema, values, existing = null) {
  const payload = {};
  for (const setting of schema) {
    const value = values[setting.name];
    if (value === undefined) continue;
    const before = existing?.settings?.[setting.name];
    if (!isEmpty(setting, value)) payload[setting.name] = toApiValue(setting, value);
    else if (setting.type === "BOOLEAN" && (before === true || setting.required)) payload[setting.name] = false;
    else if (existing && !setting.sensitive && before !== undefined && before !== null) payload[setting.name] = null;
  }
  return payload;
}

/**
 * Inputs for each setting of `schema`. `existing` is the instance being changed (for its
 * stored sensitive values); `error` an ApiError whose `settings.<name>` fields are shown.
 */
export function SettingsForm({ schema, values, onChange, existing, error, disabled, idPrefix = "setting" }) {
  if (!schema.length) {
    return html`<p class="muted">This function has no settings.</p>`;
  }
  const set = (name, value) => onChange({ ...values, [name]: value });
  return html`<div class="settings-form">
    ${schema.map((setting) => {
      const value = values[setting.name];
      const stored = existing?.sensitiveSettings?.[setting.name];
      const id = `${idPrefix}-${setting.name}`;
      const help = [setting.description, setting.sensitive ? (stored ? "A value is stored; type a new one to replace it." : "Sensitive: stored encrypted, never shown again.") : ""]
        .filter(Boolean).join(" ");
      const err = fieldError(error, `settings.${setting.name}`);
      if (setting.type === "BOOLEAN") {
        return html`<div class="field" key=${setting.name} style="margin-bottom: 14px">
          <label class="check" for=${id}>
            <input id=${id} type="checkbox" checked=${!!value} disabled=${disabled}
              onChange=${(e) => set(setting.name, e.currentTarget.checked)} />
            <strong>${setting.label || setting.name}</strong>
          </label>
          ${help ? html`<span class="help muted small" style="display:block;margin-top:4px">${help}</span>` : null}
          ${err ? html`<span class="field-error">${err.message}</span>` : null}
        </div>`;
      }
      return html`<${Field} key=${setting.name} label=${setting.label || setting.name} required=${setting.required} help=${help} error=${err}>
        ${setting.type === "ARRAY"
          ? html`<textarea id=${id} rows="3" disabled=${disabled} placeholder="One value per line"
              value=${value} onInput=${(e) => set(setting.name, e.currentTarget.value)}></textarea>`
          : setting.type === "TEXT_MAP"
            ? html`<${MapInput} rows=${value || [["", ""]]} sensitive=${setting.sensitive} stored=${stored}
                disabled=${disabled} label=${setting.label || setting.name} onChange=${(rows) => set(setting.name, rows)} />`
            : html`<input id=${id} type=${setting.sensitive ? "password" : "text"} disabled=${disabled}
                autocomplete=${setting.sensitive ? "new-password" : "off"}
                placeholder=${setting.sensitive && stored ? "•••••• (stored)" : ""}
                class=${err ? "invalid" : ""}
                value=${value} onInput=${(e) => set(setting.name, e.currentTarget.value)} />`}
      <//>`;
    })}
  </div>`;
}

function MapInput({ rows, onChange, sensitive, stored, disabled, label }) {
  const update = (index, column, text) =>
    onChange(rows.map((row, i) => (i === index ? (column === 0 ? [text, row[1]] : [row[0], text]) : row)));
  return html`<div class="stack" style="--gap: 6px">
    ${rows.map(
      ([key, value], index) => html`<div class="row" key=${index}>
        <input type="text" placeholder=${stored && !key ? "(stored; add to replace)" : "Name"} value=${key}
          aria-label=${`${label} name ${index + 1}`} disabled=${disabled}
          onInput=${(e) => update(index, 0, e.currentTarget.value)} />
        <input type=${sensitive ? "password" : "text"} placeholder="Value" value=${value}
          aria-label=${`${label} value ${index + 1}`} disabled=${disabled} autocomplete="new-password"
          onInput=${(e) => update(index, 1, e.currentTarget.value)} />
        <${Button} small kind="ghost" aria-label="Remove" disabled=${disabled || rows.length === 1}
          onClick=${() => onChange(rows.filter((_, i) => i !== index))}>✕<//>
      </div>`,
    )}
    <div><${Button} small disabled=${disabled} onClick=${() => onChange([...rows, ["", ""]])}>Add<//></div>
  </div>`;
}

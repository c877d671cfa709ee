// The Settings tab: the function's setting schema (label, name, type, description,
// required, sensitive), with a live preview of the form whoever connects it will fill in.

import { html, useState } from "../vendor/preact.js";
import { SETTING_TYPES, SettingsForm, initialValues } from "./settings-form.js";
import { Badge, Button, Empty, Field } from "./ui.js";

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const TYPE_LABELS = Object.fromEntries(SETTING_TYPES.map((t) => [t.value, t.label]));

/** `apiKey` from "API key": camelCase of the label's words, as a setting name. */
function nameFromLabel(label) {
  const words = label.replace(/[^A-Za-z0-9]+/g, " ").trim().split(" ").filter(Boolean);
  const name = words
    .map((w, i) => (i === 0 ? w.toLowerCase() : w[0].toUpperCase() + w.slice(1).toLowerCase()))
    .join("");
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

const BLANK = { label: "", name: "", type: "STRING", description: "", required: false, sensitive: false };

function SettingDraft({ initial, taken, onSave, onCancel }) {
  const [draft, setDraft] = useState(initial || BLANK);
  const [nameTouched, setNameTouched] = useState(!!initial);
  const set = (key, value) => {
    const next = { ...draft, [key]: value };
    if (key === "label" && !nameTouched) next.name = nameFromLabel(value);
    setDraft(next);
  };
  const nameError = !draft.name
    ? null
    : !NAME_PATTERN.test(draft.name)
      ? "Letters, digits and _, not starting with a digit; at most 64."
      : taken.includes(draft.name)
        ? "Another setting has this name."
        : null;
  const submit = (event) => {
    event.preventDefault();
    if (!nameError && draft.name) onSave({ ...draft, label: draft.label.trim() || draft.name });
  };
  return html`<form class="setting-item" onSubmit=${submit} aria-label=${initial ? `Edit ${initial.name}` : "New setting"}>
    <${Field} label="Label" help="What whoever connects the function sees.">
      <input type="text" value=${draft.label} autofocus onInput=${(e) => set("label", e.currentTarget.value)} placeholder="e.g. API key" />
    <//>
    <${Field} label="Name" required help="How the code reads it: settings[\"name\"]." error=${nameError}>
      <input type="text" class="mono" value=${draft.name}
        onInput=${(e) => { setNameTouched(true); set("name", e.currentTarget.value); }} placeholder="apiKey" />
    <//>
    <${Field} label="Type">
      <select value=${draft.type} onChange=${(e) => set("type", e.currentTarget.value)}>
        ${SETTING_TYPES.map((t) => html`<option value=${t.value}>${t.label} (${t.value})</option>`)}
      </select>
    <//>
    <${Field} label="Description">
      <textarea rows="2" value=${draft.description} onInput=${(e) => set("description", e.currentTarget.value)}></textarea>
    <//>
    <div class="row" style="margin-bottom:12px;gap:18px">
      <label class="check"><input type="checkbox" checked=${draft.required} onChange=${(e) => set("required", e.currentTarget.checked)} />Required</label>
      <label class="check"><input type="checkbox" checked=${draft.sensitive} onChange=${(e) => set("sensitive", e.currentTarget.checked)} />Sensitive (encrypted, never shown back)</label>
    </div>
    <div class="row">
      <${Button} kind="primary" type="submit" disabled=${!draft.name || !!nameError}>${initial ? "Update setting" : "Add setting"}<//>
      <${Button} onClick=${onCancel}>Cancel<//>
    </div>
  </form>`;
}

export function SettingsEditor({ schema, onChange, disabled, error }) {
  const [editing, setEditing] = useState(null); // an index, "new", or null
  const [previewValues, setPreviewValues] = useState({});
  const names = schema.map((s) => s.name);
  const schemaErrors = error?.forPrefix?.("settings") || [];
  const values = { ...initialValues(schema), ...previewValues };

  return html`<div>
    <div class="row spread" style="margin-bottom:10px">
      <span class="muted small">Saved with the code as part of the next version.</span>
      <${Button} small disabled=${disabled || editing !== null} reason="You can view this function but not change it."
        onClick=${() => setEditing("new")}>Add setting<//>
    </div>
    ${schemaErrors.length
      ? html`<div class="banner error" role="alert"><ul>${schemaErrors.map((e) => html`<li><span class="field-name">${e.field}: </span>${e.message}</li>`)}</ul></div>`
      : null}
    ${editing === "new"
      ? html`<${SettingDraft} taken=${names} onCancel=${() => setEditing(null)}
          onSave=${(setting) => { onChange([...schema, setting]); setEditing(null); }} />`
      : null}
    ${schema.length === 0 && editing !== "new"
      ? html`<${Empty} title="No settings">Settings let each instance of the function have its own values, such as an API key or an endpoint.<//>`
      : null}
    <div style="margin-top:8px">
      ${schema.map((setting, index) =>
        editing === index
          ? html`<${SettingDraft} key=${setting.name} initial=${setting} taken=${names.filter((n) => n !== setting.name)}
              onCancel=${() => setEditing(null)}
              onSave=${(next) => { onChange(schema.map((s, i) => (i === index ? next : s))); setEditing(null); }} />`
          : html`<div class="setting-item" key=${setting.name} data-setting=${setting.name}>
              <div class="head">
                <strong>${setting.label || setting.name}</strong>
                <${Badge}>${TYPE_LABELS[setting.type] || setting.type}<//>
                ${setting.required ? html`<${Badge} kind="warn">required<//>` : null}
                ${setting.sensitive ? html`<${Badge} kind="violet">sensitive<//>` : null}
              </div>
              <div class="sub"><span class="mono">${setting.name}</span>${setting.description ? ` · ${setting.description}` : ""}</div>
              ${disabled
                ? null
                : html`<div class="row" style="margin-top:6px">
                    <${Button} small kind="ghost" onClick=${() => setEditing(index)}>Edit<//>
                    <${Button} small kind="ghost" aria-label=${`Delete ${setting.name}`} onClick=${() => onChange(schema.filter((_, i) => i !== index))}>Delete<//>
                  </div>`}
            </div>`,
      )}
    </div>
    ${schema.length
      ? html`<div class="section-title" style="margin-top:22px">Preview</div>
          <p class="muted small">How these settings look to whoever connects the function.</p>
          <div class="preview-box" aria-label="Settings preview">
            <${SettingsForm} schema=${schema} values=${values} onChange=${setPreviewValues} idPrefix="preview" />
          </div>`
      : null}
  </div>`;
}

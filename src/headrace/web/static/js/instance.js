// Pieces shared by the source and destination pages: the settings card of an instance
// (with the schema of the version it runs), its function, and its enable switch.

import { html, useEffect, useState } from "../vendor/preact.js";
import { api } from "./api.js";
import { versionNumber } from "./data.js";
import { SettingsForm, initialValues, settingsPayload } from "./settings-form.js";
import { Badge, Button, ErrorBanner, Switch, toast } from "./ui.js";

/** The setting schema of the version `instance` is pinned to (null until loaded). */
export function usePinnedSchema(instance) {
  const [schema, setSchema] = useState(instance.functionId ? null : []);
  useEffect(() => {
    if (!instance.functionId || !instance.versionId) return;
    api.get(`/functions/${instance.functionId}/versions/${instance.versionId}`).then(
      (version) => setSchema(version.settings),
      () => setSchema([]),
    );
  }, [instance.functionId, instance.versionId]);
  return schema;
}

/** Settings of an instance; `path` is where to PATCH them. */
export function InstanceSettings({ instance, schema, path, canChange, reason, onSaved }) {
  const [values, setValues] = useState(() => initialValues(schema, instance.settings));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  useEffect(() => setValues(initialValues(schema, instance.settings)), [instance.updatedAt, schema]);
  const save = async () => {
    setBusy(true);
    setError(null);
    try {
      const saved = await api.patch(path, { settings: settingsPayload(schema, values, instance) });
      toast("Settings saved.");
      onSaved(saved);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<div>
    <${ErrorBanner} error=${error} />
    <${SettingsForm} schema=${schema} values=${values} onChange=${setValues} existing=${instance} error=${error} disabled=${!canChange} idPrefix=${`instance-${instance.id}`} />
    ${schema.length
      ? html`<${Button} kind="primary" busy=${busy} disabled=${!canChange} reason=${reason} onClick=${save}>Save settings<//>`
      : null}
  </div>`;
}

/** "Runs <function> version N (latest M)" with a link to the editor. */
export function RunsFunction({ instance, fn }) {
  if (!fn) return html`<span class="faint">Function ${instance.functionId}</span>`;
  const running = versionNumber(fn, instance.versionId);
  const behind = instance.versionId !== fn.latestVersion.id;
  return html`<span>
    <a href=${`#/functions/${fn.id}`}>${fn.displayName}</a> · version ${running ?? "?"}
    ${behind
      ? html` <${Badge} kind="warn" title="Deploy from the editor to run the latest version">latest is v${fn.latestVersion.version}<//>`
      : html` <${Badge} kind="ok">latest<//>`}
  </span>`;
}

export function EnabledSwitch({ instance, path, canChange, reason, onSaved, noun }) {
  const [busy, setBusy] = useState(false);
  // Shown at once; put back if the API refuses.
  const [checked, setChecked] = useState(instance.enabled);
  useEffect(() => setChecked(instance.enabled), [instance.enabled]);
  const change = async (enabled) => {
    setChecked(enabled);
    setBusy(true);
    try {
      const saved = await api.patch(path, { enabled });
      toast(`${noun} ${enabled ? "enabled" : "disabled"}.`);
      onSaved(saved);
    } catch (err) {
      setChecked(!enabled);
      toast(err.message, "error");
    } finally {
      setBusy(false);
    }
  };
  return html`<${Switch} checked=${checked} busy=${busy} disabled=${!canChange} reason=${reason}
    label=${checked ? "Enabled" : "Disabled"} onChange=${change} />`;
}

export async function deleteInstance(path, noun, name, after) {
  if (!confirm(`Delete the ${noun} “${name}”? This cannot be undone.`)) return;
  try {
    await api.del(path);
    toast(`${noun[0].toUpperCase()}${noun.slice(1)} “${name}” deleted.`);
    after();
  } catch (err) {
    toast(err.message, "error");
  }
}

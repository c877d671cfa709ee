// The function editor: code on the left; Test, Settings and Details on the right; Save
// (a new version, deployed instances unchanged), Save & Deploy, and the version history.

import { html, useEffect, useRef, useState } from "../../vendor/preact.js";
import { REASONS, canEditFunction } from "../access.js";
import { api } from "../api.js";
import { CodeEditor, DiffView } from "../code-editor.js";
import { ConnectModal } from "../connect.js";
import { instancesOf, loadGraph, loadMemberNames, versionNumber } from "../data.js";
import { navigate, setQuery } from "../router.js";
import { SettingsEditor } from "../settings-editor.js";
import { TestPanel } from "../test-panel.js";
import {
  Badge, Banner, Button, Empty, ErrorBanner, Field, KIND_BADGES, KIND_LABELS, Loading, Modal,
  Tabs, Time, fieldError, toast,
} from "../ui.js";

const sameJson = (a, b) => JSON.stringify(a) === JSON.stringify(b);

export function FunctionPage({ id, session, route }) {
  const [fn, setFn] = useState(null);
  const [graph, setGraph] = useState(null);
  const [canEdit, setCanEdit] = useState(false);
  const [loadError, setLoadError] = useState(null);
  const [code, setCode] = useState("");
  const [schema, setSchema] = useState([]);
  const [details, setDetails] = useState({ displayName: "", description: "", timeoutMs: 5000 });
  const [saveError, setSaveError] = useState(null);
  const [diagnostics, setDiagnostics] = useState([]);
  const [saving, setSaving] = useState(false);
  const [modal, setModal] = useState(null);
  const editor = useRef(null);
  const tab = route.query.tab || "test";

  const adopt = (loaded) => {
    setFn(loaded);
    setCode(loaded.code);
    setSchema(loaded.settings);
    setDetails({ displayName: loaded.displayName, description: loaded.description, timeoutMs: loaded.timeoutMs });
  };

  const refreshGraph = () => loadGraph().then(setGraph, () => {});

  useEffect(() => {
    (async () => {
      try {
        const [loaded, loadedGraph, editable] = await Promise.all([
          api.get(`/functions/${id}`), loadGraph(), canEditFunction(session, id),
        ]);
        adopt(loaded);
        setGraph(loadedGraph);
        setCanEdit(editable);
      } catch (error) {
        setLoadError(error);
      }
    })();
  }, [id]);

  const codeDirty = fn && code !== fn.code;
  const schemaDirty = fn && !sameJson(schema, fn.settings);
  const detailsDirty = fn && (details.displayName !== fn.displayName || details.description !== fn.description || Number(details.timeoutMs) !== fn.timeoutMs);
  const dirty = !!(codeDirty || schemaDirty || detailsDirty);

  useEffect(() => {
    if (!dirty) return undefined;
    const warn = (event) => {
      event.preventDefault();
      event.returnValue = "";
    };
    // Links inside the UI change the address without unloading the page: ask first.
    const leave = (event) => {
      const link = event.target.closest?.("a[href^='#/']");
      if (link && !confirm("Leave the editor? Your unsaved changes will be lost.")) event.preventDefault();
    };
    addEventListener("beforeunload", warn);
    document.addEventListener("click", leave, true);
    return () => {
      removeEventListener("beforeunload", warn);
      document.removeEventListener("click", leave, true);
    };
  }, [dirty]);

  /** Saves the edits as a new version; the function after, or null when refused. */
  const save = async () => {
    const body = {};
    if (codeDirty) body.code = code;
    if (schemaDirty) body.settings = schema.map(({ name, label, description, type, required, sensitive }) => ({ name, label, description, type, required, sensitive }));
    if (details.displayName !== fn.displayName) body.displayName = details.displayName.trim();
    if (details.description !== fn.description) body.description = details.description;
    if (Number(details.timeoutMs) !== fn.timeoutMs) body.timeoutMs = Number(details.timeoutMs);
    setSaving(true);
    setSaveError(null);
    try {
      const saved = await api.patch(`/functions/${id}`, body);
      adopt(saved);
      setDiagnostics([]);
      return saved;
    } catch (error) {
      setSaveError(error);
      const codeError = error.forField?.("code");
      if (codeError?.line) {
        setDiagnostics([{ line: codeError.line, message: codeError.message }]);
        editor.current?.goToLine(codeError.line);
      }
      if (error.forPrefix?.("settings").length && tab !== "settings") setQuery("tab", "settings");
      return null;
    } finally {
      setSaving(false);
    }
  };

  const onSave = async () => {
    const before = fn.latestVersion.version;
    const saved = await save();
    if (!saved) return;
    const instances = graph ? instancesOf(saved, graph) : [];
    const behind = instances.filter((i) => i.versionId !== saved.latestVersion.id).length;
    toast(saved.latestVersion.version === before
      ? "Saved."
      : `Saved as version ${saved.latestVersion.version}.${behind ? ` ${behind} instance(s) keep their version until you deploy.` : ""}`);
  };

  useEffect(() => {
    const onKey = (event) => {
      if ((event.ctrlKey || event.metaKey) && event.key === "s") {
        event.preventDefault();
        if (canEdit && dirty && !saving) onSave();
      }
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  });

  if (loadError) {
    return html`<main class="page"><${ErrorBanner} error=${loadError} /><a href="#/functions">Back to functions</a></main>`;
  }
  if (!fn || !graph) return html`<${Loading} label="Opening the function…" />`;

  const instances = instancesOf(fn, graph);
  const deployed = fn.deployedVersions.filter((v) => v.instanceIds.length).sort((a, b) => a.version - b.version);
  const editReason = REASONS.editFunction;
  const tabs = [
    { id: "test", label: "Test" },
    { id: "settings", label: `Settings${schema.length ? ` (${schema.length})` : ""}` },
    { id: "details", label: "Details" },
  ];

  return html`<div class="editor-page">
    <div class="editor-head">
      <div class="titles">
        <div class="crumbs"><a href="#/functions">Functions</a> / ${KIND_LABELS[fn.resourceType]}</div>
        <h1>
          ${fn.displayName}
          <${Badge} kind=${KIND_BADGES[fn.resourceType]}>${KIND_LABELS[fn.resourceType]}<//>
          ${dirty ? html`<${Badge} kind="warn">Unsaved changes<//>` : null}
        </h1>
        <div class="meta">
          <span data-testid="latest-version">Latest: version ${fn.latestVersion.version}</span>
          <span>${deployed.length
            ? `Deployed: ${deployed.map((v) => `v${v.version} on ${v.instanceIds.length} instance${v.instanceIds.length === 1 ? "" : "s"}`).join(", ")}`
            : "Not deployed to any instance"}</span>
        </div>
      </div>
      <${Button} onClick=${() => setModal("history")}>History<//>
      <${Button} disabled=${!canEdit || !session.sourceAdmin} reason=${!canEdit ? editReason : REASONS.connect}
        onClick=${() => setModal("connect")}>Connect<//>
      <${Button} disabled=${!canEdit || !dirty} reason=${!canEdit ? editReason : "No changes to save."} busy=${saving && modal !== "deploy"}
        onClick=${onSave}>Save<//>
      <${Button} kind="primary" disabled=${!canEdit} reason=${editReason} onClick=${() => setModal("deploy")}>Save & Deploy<//>
    </div>
    <div class="editor-body">
      <div class="code-pane">
        <div class="code-bar">
          <span>function.py · Python</span>
          <span class="grow"></span>
          <span>${canEdit ? "Ctrl+S saves" : "Read-only"}</span>
        </div>
        ${!canEdit ? html`<${Banner} kind="warn">${editReason}<//>` : null}
        <${ErrorBanner} error=${saveError} title=${saveError ? "Not saved" : null} onLine=${(line) => editor.current?.goToLine(line)} />
        <${CodeEditor} value=${code} language="python" readOnly=${!canEdit} onChange=${setCode}
          diagnostics=${diagnostics} controller=${editor} label="Function code" />
      </div>
      <div class="side-pane">
        <${Tabs} tabs=${tabs} active=${tab} onChange=${(next) => setQuery("tab", next === "test" ? null : next)} />
        <div class="side-scroll">
          ${tab === "test"
            ? html`<${TestPanel} fn=${fn} code=${code} schema=${schema} graph=${graph} canEdit=${canEdit}
                onErrorLine=${(line, message) => { setDiagnostics(line ? [{ line, message }] : []); if (line) editor.current?.goToLine(line); }} />`
            : null}
          ${tab === "settings"
            ? html`<${SettingsEditor} schema=${schema} onChange=${setSchema} disabled=${!canEdit} error=${saveError} />`
            : null}
          ${tab === "details"
            ? html`<${DetailsForm} details=${details} onChange=${setDetails} disabled=${!canEdit} error=${saveError} fn=${fn}
                instances=${instances} />`
            : null}
        </div>
      </div>
    </div>
    ${modal === "deploy"
      ? html`<${DeployModal} fn=${fn} graph=${graph} dirty=${dirty} save=${save} session=${session}
          onClose=${() => setModal(null)}
          onConnect=${() => setModal("connect")}
          onDeployed=${async () => { setModal(null); adopt(await api.get(`/functions/${id}`)); refreshGraph(); }} />`
      : null}
    ${modal === "history"
      ? html`<${HistoryModal} fn=${fn} session=${session} canEdit=${canEdit} dirty=${dirty} onClose=${() => setModal(null)}
          onRestored=${async () => { setModal(null); adopt(await api.get(`/functions/${id}`)); }} />`
      : null}
    ${modal === "connect"
      ? html`<${ConnectModal} fn=${fn} graph=${graph} onClose=${() => setModal(null)} />`
      : null}
  </div>`;
}

function DetailsForm({ details, onChange, disabled, error, fn, instances }) {
  const set = (key, value) => onChange({ ...details, [key]: value });
  const [deleteError, setDeleteError] = useState(null);
  const remove = async () => {
    if (!confirm(`Delete the function “${fn.displayName}” and all its versions? This cannot be undone.`)) return;
    try {
      await api.del(`/functions/${fn.id}`);
      toast(`Function “${fn.displayName}” deleted.`);
      navigate("/functions");
    } catch (err) {
      setDeleteError(err);
    }
  };
  return html`<div>
    <${Field} label="Name" required error=${fieldError(error, "displayName")}>
      <input type="text" value=${details.displayName} disabled=${disabled} onInput=${(e) => set("displayName", e.currentTarget.value)} />
    <//>
    <${Field} label="Description" error=${fieldError(error, "description")}>
      <textarea rows="3" value=${details.description} disabled=${disabled} onInput=${(e) => set("description", e.currentTarget.value)}></textarea>
    <//>
    <${Field} label="Timeout (ms)" help="How long one call may run before it ends as a timeout (retried). 1–60000." error=${fieldError(error, "timeoutMs")}>
      <input type="number" min="1" max="60000" value=${details.timeoutMs} disabled=${disabled} onInput=${(e) => set("timeoutMs", e.currentTarget.value)} />
    <//>
    <dl class="kv small">
      <dt>Id</dt><dd class="mono">${fn.id}</dd>
      <dt>Created</dt><dd><${Time} iso=${fn.createdAt} /></dd>
      <dt>Language</dt><dd>${fn.language}</dd>
    </dl>
    <div class="section-title" style="margin-top:24px">Delete</div>
    <${ErrorBanner} error=${deleteError} />
    <p class="muted small">${instances.length
      ? `Remove its ${instances.length} instance${instances.length === 1 ? "" : "s"} first: a function that runs somewhere cannot be deleted.`
      : "Deletes the function and every version of it."}</p>
    <${Button} kind="danger" disabled=${disabled || instances.length > 0}
      reason=${disabled ? REASONS.editFunction : "Remove its instances first."} onClick=${remove}>Delete function<//>
  </div>`;
}

function DeployModal({ fn, graph, dirty, save, onClose, onDeployed, onConnect, session }) {
  const instances = instancesOf(fn, graph);
  const [selected, setSelected] = useState(instances.map((i) => i.id));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const deploy = async () => {
    setBusy(true);
    setError(null);
    try {
      let target = fn;
      if (dirty) {
        target = await save();
        if (!target) {
          onClose();
          return;
        }
      }
      const result = await api.post(`/functions/${fn.id}/deploy`, { instanceIds: selected });
      toast(`Version ${result.version.version} deployed to ${result.instanceIds.length} instance(s).`);
      onDeployed(result);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const next = dirty ? fn.latestVersion.version + 1 : fn.latestVersion.version;
  return html`<${Modal} title=${dirty ? "Save & Deploy" : `Deploy version ${next}`} onClose=${onClose}
    footer=${html`<${Button} onClick=${onClose}>Cancel<//>
      ${instances.length
        ? html`<${Button} kind="primary" busy=${busy} disabled=${!selected.length} onClick=${deploy}>
            ${dirty ? `Save and deploy to ${selected.length}` : `Deploy to ${selected.length}`}<//>`
        : null}`}>
    <${ErrorBanner} error=${error} />
    ${instances.length
      ? html`<p>${dirty ? `Your changes are saved as version ${next}, then` : `Version ${next} is`} deployed to the instances you pick. The others keep the version they run.</p>
        <table class="list" aria-label="Instances">
          <thead><tr><th></th><th>Instance</th><th>Runs</th></tr></thead>
          <tbody>${instances.map((instance) => {
            const version = versionNumber(fn, instance.versionId);
            return html`<tr key=${instance.id}>
              <td style="width:32px"><input type="checkbox" aria-label=${`Deploy to ${instance.name}`} checked=${selected.includes(instance.id)}
                onChange=${(e) => setSelected(e.currentTarget.checked ? [...selected, instance.id] : selected.filter((s) => s !== instance.id))} /></td>
              <td>${instance.name} <span class="faint small">${instance.kind}</span></td>
              <td>${version ? `v${version}` : "—"}${instance.versionId === fn.latestVersion.id && !dirty ? html` <${Badge} kind="ok">latest<//>` : null}</td>
            </tr>`;
          })}</tbody>
        </table>`
      : html`<${Empty} title="No instances to deploy to"
          actions=${html`${dirty ? html`<${Button} onClick=${async () => { if (await save()) { toast("Saved."); onClose(); } }}>Save only<//>` : null}
            <${Button} kind="primary" disabled=${!session.sourceAdmin} reason=${REASONS.connect} onClick=${onConnect}>Connect this function<//>`}>
          Connect the function to a ${fn.resourceType === "SOURCE" ? "source" : "destination"} first; new instances run the latest version.
        <//>`}
  <//>`;
}

function HistoryModal({ fn, session, canEdit, dirty, onClose, onRestored }) {
  const [versions, setVersions] = useState(null);
  const [names, setNames] = useState({});
  const [selectedId, setSelectedId] = useState(null);
  const [codes, setCodes] = useState({});
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    loadMemberNames(session).then(setNames);
    api.get(`/functions/${fn.id}/versions`).then((list) => {
      setVersions(list);
      setSelectedId((list[1] || list[0]).id);
    }, setError);
  }, []);

  const selected = versions?.find((v) => v.id === selectedId);
  const latest = versions?.[0];
  // The selected version against the latest; the latest against the one before it.
  const [left, right] = selected && selected.id === latest.id ? [versions[1] || latest, latest] : [selected, latest];

  useEffect(() => {
    for (const version of [left, right]) {
      if (version && codes[version.id] === undefined) {
        api.get(`/functions/${fn.id}/versions/${version.id}`).then(
          (detail) => setCodes((c) => ({ ...c, [version.id]: detail.code })),
          setError,
        );
      }
    }
  }, [left?.id, right?.id]);

  const restore = async () => {
    if (dirty && !confirm("Restoring replaces your unsaved changes in the editor. Restore anyway?")) return;
    setBusy(true);
    setError(null);
    try {
      const restored = await api.post(`/functions/${fn.id}/versions`, { versionId: selected.id });
      toast(`Version ${selected.version} restored as version ${restored.version}. Deploy it to run it.`);
      onRestored(restored);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return html`<${Modal} title="Version history" wide onClose=${onClose}
    footer=${html`<${Button} onClick=${onClose}>Close<//>
      <${Button} kind="primary" busy=${busy}
        disabled=${!canEdit || !selected || selected.isLatest}
        reason=${!canEdit ? REASONS.editFunction : "This is already the latest version."}
        onClick=${restore}>${selected ? `Restore version ${selected.version}` : "Restore"}<//>`}>
    <${ErrorBanner} error=${error} />
    ${!versions
      ? html`<${Loading} />`
      : html`<div class="history">
          <div class="version-list" role="listbox" aria-label="Versions">
            ${versions.map((v) => html`<button key=${v.id} role="option" aria-selected=${v.id === selectedId}
                class=${v.id === selectedId ? "selected" : ""} onClick=${() => setSelectedId(v.id)}>
              <div class="v">Version ${v.version}
                ${v.isLatest ? html`<${Badge} kind="accent">latest<//>` : null}
                ${v.isDeployed ? html`<${Badge} kind="ok">deployed<//>` : null}
              </div>
              <div class="muted small"><${Time} iso=${v.createdAt} />${v.author ? ` · ${names[v.author] || v.author}` : ""}</div>
              ${v.restoredFrom ? html`<div class="muted small">restored from v${v.restoredFrom}</div>` : null}
            </button>`)}
          </div>
          <div>
            ${versions.length < 2
              ? html`<${Empty} title="Only one version so far">Each save makes a new version; compare and restore them here.<//>`
              : codes[left.id] === undefined || codes[right.id] === undefined
                ? html`<${Loading} />`
                : html`<div class="diff-labels"><span>Version ${left.version}</span><span>Version ${right.version}${right.isLatest ? " (latest)" : ""}</span></div>
                    <${DiffView} original=${codes[left.id]} modified=${codes[right.id]} />`}
          </div>
        </div>`}
  <//>`;
}

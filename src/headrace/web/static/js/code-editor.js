// CodeMirror 6 as Preact components: the Python code editor (line numbers, highlighting,
// errors from a save shown in the gutter at their line), JSON inputs checked as you type,
// and a side-by-side diff of two versions.

import { html, useEffect, useRef } from "../vendor/preact.js";
import {
  Compartment,
  EditorState,
  EditorView,
  MergeView,
  basicSetup,
  indentUnit,
  indentWithTab,
  json,
  jsonParseLinter,
  keymap,
  lintGutter,
  linter,
  python,
  setDiagnostics,
} from "../vendor/codemirror.js";

const theme = EditorView.theme({
  "&": { backgroundColor: "#fff" },
  ".cm-activeLine": { backgroundColor: "#f5f8ff" },
  ".cm-activeLineGutter": { backgroundColor: "#eef3fd" },
  ".cm-lintRange-error": { backgroundImage: "none", textDecoration: "underline wavy #c62828" },
  ".cm-tooltip-lint": { fontFamily: "system-ui, sans-serif", fontSize: "12.5px" },
});

function languageExtensions(language) {
  if (language === "python") return [python(), indentUnit.of("    ")];
  if (language === "json") return [json(), linter(jsonParseLinter(), { delay: 250 })];
  return [];
}

/** `diagnostics`: `[{line, message}]` (a whole line) or `[{from, to, message}]` (offsets). */
function toCodeMirror(state, diagnostics) {
  return (diagnostics || []).map((d) => {
    let from = d.from;
    let to = d.to;
    if (d.line) {
      const line = state.doc.line(Math.max(1, Math.min(d.line, state.doc.lines)));
      from = line.from;
      to = line.to;
    }
    from = Math.max(0, Math.min(from ?? 0, state.doc.length));
    to = Math.max(from, Math.min(to ?? from, state.doc.length));
    return { from, to, severity: d.severity || "error", message: d.message };
  });
}

/**
 * A CodeMirror editor. `controller` (a ref) receives `{view, goToLine(line), focus()}`.
 * `value` replaces the text when it differs from what the editor holds.
 */
export function CodeEditor({ value, language, readOnly, onChange, diagnostics, controller, label, className }) {
  const host = useRef(null);
  const view = useRef(null);
  const editable = useRef(new Compartment());
  const changed = useRef(onChange);
  changed.current = onChange;

  useEffect(() => {
    const current = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value || "",
        extensions: [
          basicSetup,
          keymap.of([indentWithTab]),
          lintGutter(),
          theme,
          ...languageExtensions(language),
          editable.current.of(EditorState.readOnly.of(!!readOnly)),
          EditorView.contentAttributes.of({ "aria-label": label || "Code" }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged && changed.current) changed.current(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = current;
    if (controller) {
      controller.current = {
        view: current,
        focus: () => current.focus(),
        goToLine(line) {
          const target = current.state.doc.line(Math.max(1, Math.min(line, current.state.doc.lines)));
          current.dispatch({ selection: { anchor: target.from }, scrollIntoView: true });
          current.focus();
        },
      };
    }
    return () => current.destroy();
  }, []);

  useEffect(() => {
    const current = view.current;
    if (current && value !== undefined && value !== current.state.doc.toString()) {
      current.dispatch({ changes: { from: 0, to: current.state.doc.length, insert: value } });
    }
  }, [value]);

  useEffect(() => {
    view.current?.dispatch({ effects: editable.current.reconfigure(EditorState.readOnly.of(!!readOnly)) });
  }, [readOnly]);

  useEffect(() => {
    const current = view.current;
    if (current && language !== "json") {
      current.dispatch(setDiagnostics(current.state, toCodeMirror(current.state, diagnostics)));
    }
  }, [diagnostics]);

  return html`<div class=${className || "cm-host"} ref=${host} data-language=${language}></div>`;
}

/** Two versions side by side, changes highlighted; both read-only. */
export function DiffView({ original, modified }) {
  const host = useRef(null);
  useEffect(() => {
    const extensions = [basicSetup, python(), theme, EditorState.readOnly.of(true), EditorView.editable.of(false)];
    const merge = new MergeView({
      a: { doc: original, extensions },
      b: { doc: modified, extensions },
      parent: host.current,
      collapseUnchanged: { margin: 3, minSize: 6 },
    });
    return () => merge.destroy();
  }, [original, modified]);
  return html`<div class="diff-host" ref=${host}></div>`;
}

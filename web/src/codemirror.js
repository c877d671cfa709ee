// The CodeMirror 6 pieces the editing environment uses, bundled into one ES module.
export { basicSetup, EditorView } from "codemirror";
export { Compartment, EditorState, StateEffect } from "@codemirror/state";
export { keymap } from "@codemirror/view";
export { indentWithTab } from "@codemirror/commands";
export { indentUnit } from "@codemirror/language";
export { python } from "@codemirror/lang-python";
export { json, jsonParseLinter } from "@codemirror/lang-json";
export { forceLinting, linter, lintGutter, setDiagnostics } from "@codemirror/lint";
export { MergeView } from "@codemirror/merge";

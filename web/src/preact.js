// Preact with its hooks and htm (JSX-like tagged templates), bundled into one ES module so
// the UI's own modules need no build step.
import { h } from "preact";
import htm from "htm";

export { Fragment, h, render } from "preact";
export { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
export const html = htm.bind(h);

// The editing environment's shell: sign-in, the top bar with the workspace and the member's
// roles, and the page for the current address.

import { html, render, useEffect, useState } from "../vendor/preact.js";
import { ROLE_LABELS, loadSession } from "./access.js";
import { clearToken, getToken, setToken, setUnauthorizedHandler } from "./api.js";
import { AuditPage } from "./pages/audit.js";
import { CatalogPage } from "./pages/catalog.js";
import { DestinationPage, DestinationsPage } from "./pages/destinations.js";
import { FunctionPage } from "./pages/function.js";
import { SignInPage } from "./pages/signin.js";
import { SourcePage, SourcesPage } from "./pages/sources.js";
import { UsagePage } from "./pages/usage.js";
import { useRoute } from "./router.js";
import { Button, ErrorBanner, Loading } from "./ui.js";

const NAV = [
  { id: "functions", label: "Functions" },
  { id: "sources", label: "Sources" },
  { id: "destinations", label: "Destinations" },
  { id: "audit", label: "Audit trail", ownerOnly: true },
  { id: "usage", label: "Usage" },
];

function TopBar({ session, section, onSignOut }) {
  return html`<header class="topbar">
    <a class="brand" href="#/functions"><img src="/ui/favicon.svg" alt="" />headrace</a>
    <nav class="nav" aria-label="Main">
      ${NAV.map((item) =>
        item.ownerOnly && !session.owner
          ? html`<span class="disabled" title="Only workspace owners can read the audit trail.">${item.label}</span>`
          : html`<a href=${`#/${item.id}`} class=${section === item.id ? "active" : ""}>${item.label}</a>`,
      )}
    </nav>
    <div class="who">
      <span class="workspace" title=${session.workspace.id} data-testid="workspace-name">${session.workspace.name}</span>
      ${session.member?.name ? html`<span>${session.member.name}</span>` : null}
      <span class="row" data-testid="roles" title=${session.inferred ? "Roles as shown by what this token may do." : undefined}>
        ${session.roles.length
          ? session.roles.map((grant) => html`<span class="role">${ROLE_LABELS[grant.role] || grant.role}${grant.resourceIds?.length ? " (some)" : ""}</span>`)
          : html`<span class="role">No role</span>`}
      </span>
      <${Button} small onClick=${onSignOut}>Sign out<//>
    </div>
  </header>`;
}

function Page({ session, route }) {
  const [section, id] = route.parts;
  switch (section) {
    case "functions":
      return id ? html`<${FunctionPage} key=${id} id=${id} session=${session} route=${route} />` : html`<${CatalogPage} session=${session} />`;
    case "sources":
      return id ? html`<${SourcePage} key=${id} id=${id} session=${session} route=${route} />` : html`<${SourcesPage} session=${session} />`;
    case "destinations":
      return id ? html`<${DestinationPage} key=${id} id=${id} session=${session} route=${route} />` : html`<${DestinationsPage} session=${session} />`;
    case "audit":
      return html`<${AuditPage} session=${session} route=${route} />`;
    case "usage":
      return html`<${UsagePage} session=${session} />`;
    default:
      return html`<main class="page"><h1>Not found</h1><p>There is no page at this address. <a href="#/functions">Go to functions</a>.</p></main>`;
  }
}

function App() {
  const route = useRoute();
  const [session, setSession] = useState(null);
  const [state, setState] = useState(getToken() ? "loading" : "signed-out");
  const [error, setError] = useState(null);

  const signOut = (reason = null) => {
    clearToken();
    setSession(null);
    setError(reason);
    setState("signed-out");
  };

  const start = async () => {
    setState("loading");
    try {
      setSession(await loadSession());
      setError(null);
      setState("ready");
    } catch (err) {
      clearToken();
      setError(err);
      setState("signed-out");
    }
  };

  useEffect(() => {
    setUnauthorizedHandler(() =>
      signOut(new Error("This token is no longer valid (revoked, or its member was removed). Sign in again.")),
    );
    if (getToken()) start();
  }, []);

  if (state === "signed-out") {
    return html`<${SignInPage}
      error=${error}
      onSignIn=${async (token) => {
        setToken(token);
        await start();
      }}
    />`;
  }
  if (state === "loading" || !session) return html`<${Loading} label="Signing in…" />`;
  return html`<div>
    <${TopBar} session=${session} section=${route.parts[0]} onSignOut=${() => signOut()} />
    ${error ? html`<${ErrorBanner} error=${error} />` : null}
    <${Page} session=${session} route=${route} />
  </div>`;
}

const root = document.getElementById("app");
root.textContent = "";
render(html`<${App} />`, root);

// Sign-in with an API token; the token is kept for this browser session only.

import { html, useState } from "../../vendor/preact.js";
import { Button, ErrorBanner, Field } from "../ui.js";

export function SignInPage({ error, onSignIn }) {
  const [token, setToken] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    try {
      await onSignIn(token.trim());
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin">
    <div class="brand-big"><img src="/ui/favicon.svg" alt="" />headrace</div>
    <form class="card" onSubmit=${submit}>
      <h2>Sign in</h2>
      <p class="muted">Use an API token of your workspace. It stays in this browser tab until you sign out or close it.</p>
      <${ErrorBanner} error=${error} />
      <${Field} label="API token" help=${html`The owner token of the first workspace is in <span class="kbd">.headrace/owner.token</span>. Owners make tokens for members with <span class="kbd">POST /api/v1/tokens</span>.`}>
        <input type="password" autocomplete="off" placeholder="hr_…" value=${token} autofocus
          onInput=${(e) => setToken(e.currentTarget.value)} />
      <//>
      <${Button} kind="primary" type="submit" busy=${busy} disabled=${!token.trim()}>Sign in<//>
    </form>
  </main>`;
}

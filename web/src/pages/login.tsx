import { useState } from 'preact/hooks';
import { ApiError, errorMessage } from '../api';
import { whoami } from '../session';
import type { Whoami } from '../types';

export function LoginPage(props: { error?: unknown; onLogin: (token: string, who: Whoami) => void }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(props.error ? errorMessage(props.error) : undefined);

  const submit = async (e: Event) => {
    e.preventDefault();
    const value = token.trim();
    if (!value) {
      setError('Enter an API token.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const who = await whoami(value);
      props.onLogin(value, who);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'The controller does not accept this token.' : errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login" id="main">
      <form class="card login-card" method="post" onSubmit={submit} aria-labelledby="login-title">
        <div class="brand brand-large">
          <span class="brand-mark" aria-hidden="true" />
          gpufleet
        </div>
        <h1 id="login-title">Sign in</h1>
        <p class="muted">
          Paste an API token (<code>gft_…</code>). Create one with{' '}
          <code>gpufleet tokens create NAME --role viewer</code>. It is kept for this browser tab only.
        </p>
        <div class="field">
          <label for="token">API token</label>
          <input
            id="token"
            name="token"
            type="password"
            autocomplete="off"
            spellcheck={false}
            required
            value={token}
            onInput={(e) => setToken((e.target as HTMLInputElement).value)}
            aria-describedby={error ? 'login-error' : undefined}
          />
        </div>
        {error && (
          <div class="alert alert-error" role="alert" id="login-error">
            {error}
          </div>
        )}
        <button class="btn btn-primary" type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

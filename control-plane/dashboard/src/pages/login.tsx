import { useState, type FormEvent } from 'react';
import { checkKey, session, ApiFailure } from '../api';
import { Logo } from '../ui/logo';

/** Checks the key against a read route before keeping it. */
export function Login({ onSignedIn }: { onSignedIn: () => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await checkKey(key.trim());
      session.signIn(key.trim());
      onSignedIn();
    } catch (err) {
      setError(
        err instanceof ApiFailure && err.status === 401
          ? 'That key is not valid (or was revoked). Use the key printed at the first start, or one from POST /api/v1/operators/keys.'
          : (err as Error).message,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="login">
      <form onSubmit={submit} className="card">
        <h1>
          <Logo /> Flotilla
        </h1>
        <label>
          Operator key
          <input
            name="key"
            type="password"
            autoComplete="off"
            autoFocus
            value={key}
            onChange={(e) => setKey(e.target.value)}
            placeholder="fok_…"
          />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || !key.trim()}>
          Sign in
        </button>
        <p className="hint">The key stays in this tab only (sessionStorage).</p>
      </form>
    </main>
  );
}

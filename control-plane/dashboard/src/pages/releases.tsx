import { useState } from 'react';
import type { ReleaseView } from '@flotilla/shared';
import { api, ApiFailure, type Issue } from '../api';
import { catalog } from '../catalog';
import { useLive } from '../live';
import { Link, navigate } from '../router';
import { ErrorNote, ago } from '../ui/bits';
import { useData } from '../use-data';

export function Releases() {
  const list = useData(() => catalog.releases(true), []);
  useLive((e) => e.type === 'release', list.reload);
  const [a, setA] = useState('');
  const [b, setB] = useState('');
  const releases = [...(list.data ?? [])].sort((x, y) => y.createdAt.localeCompare(x.createdAt));
  return (
    <section>
      <h2>Releases</h2>
      <Upload onPublished={(r) => navigate(`/releases/${r.id}`)} />
      <ErrorNote error={list.error} />
      <div className="card">
        <h3>Published</h3>
        <table data-testid="release-table">
          <thead>
            <tr>
              <th>Compare</th>
              <th>Name</th>
              <th>Version</th>
              <th>Components</th>
              <th>Digest</th>
              <th>By</th>
              <th>Published</th>
            </tr>
          </thead>
          <tbody>
            {releases.map((r) => (
              <tr key={r.id}>
                <td>
                  <input type="radio" name="a" aria-label={`from ${r.version}`} checked={a === r.id} onChange={() => setA(r.id)} />
                  <input type="radio" name="b" aria-label={`to ${r.version}`} checked={b === r.id} onChange={() => setB(r.id)} />
                </td>
                <td>
                  <Link to={`/releases/${r.id}`}>{r.name}</Link>
                </td>
                <td>{r.version}</td>
                <td>{r.assembly.components.length}</td>
                <td className="mono">{r.digest.slice(0, 19)}</td>
                <td>{r.createdBy}</td>
                <td>{ago(r.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <button disabled={!a || !b || a === b} onClick={() => navigate(`/releases/${a}/diff/${b}`)}>
          Diff selected
        </button>
      </div>
    </section>
  );
}

/** Upload an assembly YAML; a 400 shows each issue at its path, next to the text. */
function Upload({ onPublished }: { onPublished: (r: ReleaseView) => void }) {
  const [text, setText] = useState('');
  const [issues, setIssues] = useState<Issue[]>([]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const publish = async () => {
    setBusy(true);
    setIssues([]);
    setError(undefined);
    try {
      const r = await api('POST /api/v1/releases', { body: text });
      setText('');
      onPublished(r);
    } catch (e) {
      setError((e as Error).message);
      if (e instanceof ApiFailure) setIssues(e.issues);
    } finally {
      setBusy(false);
    }
  };
  const onFile = async (file: File | undefined) => file && setText(await file.text());
  return (
    <div className="card upload">
      <h3>Publish an assembly</h3>
      <textarea
        aria-label="assembly.yaml"
        spellCheck={false}
        rows={10}
        value={text}
        placeholder={'name: origin\nx-flotilla: { version: 1.0.0 }\nservices:\n  web:\n    image: registry/web@sha256:…'}
        onChange={(e) => setText(e.target.value)}
      />
      <div className="row">
        <input type="file" accept=".yaml,.yml" aria-label="assembly file" onChange={(e) => void onFile(e.target.files?.[0])} />
        <button onClick={publish} disabled={busy || !text.trim()}>
          Publish
        </button>
      </div>
      {error && (
        <div className="error" role="alert" data-testid="upload-error">
          <p>{error}</p>
          {issues.length > 0 && (
            <ul className="issues">
              {issues.map((i, n) => (
                <li key={n}>
                  <code>{i.path || '(document)'}</code> {i.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}

export function Release({ id }: { id: string }) {
  const release = useData(() => api('GET /api/v1/releases/:id', { params: { id } }), [id]);
  const r = release.data;
  if (release.error) return <ErrorNote error={release.error} />;
  if (!r) return <p>Loading…</p>;
  return (
    <section>
      <h2>
        {r.name} <small>{r.version}</small>
      </h2>
      <p className="sub">
        {r.id} · {r.digest} · signed by key {r.signature.keyId} · published by {r.createdBy} {ago(r.createdAt)}
      </p>
      <p>
        <Link to={`/rollouts/new?releaseId=${r.id}`} className="button">
          Roll out this release
        </Link>
      </p>
      <div className="card">
        <h3>Components</h3>
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Image</th>
            </tr>
          </thead>
          <tbody>
            {r.assembly.components.map((c) => (
              <tr key={c.name}>
                <td>{c.name}</td>
                <td className="mono">{c.image}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <details className="card">
        <summary>Resolved assembly (JSON)</summary>
        <pre>{JSON.stringify(r.assembly, null, 2)}</pre>
      </details>
    </section>
  );
}

export function Diff({ a, b }: { a: string; b: string }) {
  const diff = useData(() => api('GET /api/v1/releases/:id/diff/:otherId', { params: { id: a, otherId: b } }), [a, b]);
  const d = diff.data;
  if (diff.error) return <ErrorNote error={diff.error} />;
  if (!d) return <p>Loading…</p>;
  return (
    <section>
      <h2>
        {d.from.name} {d.from.version} → {d.to.name} {d.to.version}
      </h2>
      <div className="card diff" data-testid="diff">
        <ul>
          {d.components.added.map((c) => (
            <li key={c} className="added">
              + {c}
            </li>
          ))}
          {d.components.removed.map((c) => (
            <li key={c} className="removed">
              − {c}
            </li>
          ))}
          {d.components.changed.map((c) => (
            <li key={c.name} className="changed">
              ~ {c.name}: {c.fields.join(', ')}
            </li>
          ))}
          {d.components.unchanged.map((c) => (
            <li key={c} className="sub">
              = {c}
            </li>
          ))}
        </ul>
        {d.assemblyFields.length > 0 && <p>Assembly fields changed: {d.assemblyFields.join(', ')}</p>}
        <h3>Images to fetch</h3>
        {d.imagesToFetch.length ? (
          <ul className="mono">
            {d.imagesToFetch.map((i) => (
              <li key={i}>{i}</li>
            ))}
          </ul>
        ) : (
          <p className="empty">None: devices have every image already.</p>
        )}
      </div>
    </section>
  );
}

import { useEffect, useState } from 'react';
import { Logo } from './ui/logo';
import { session } from './api';
import { startLive, stopLive, useLiveStatus } from './live';
import { Link, match, useLocation } from './router';
import { Device } from './pages/device/device-page';
import { Devices } from './pages/devices';
import { Login } from './pages/login';
import { Overview } from './pages/overview';
import { Diff, Release, Releases } from './pages/releases';
import { NewRollout } from './pages/rollouts/new-rollout';
import { Rollout } from './pages/rollouts/rollout-detail';
import { Rollouts } from './pages/rollouts/rollout-list';

export function App() {
  const [signedIn, setSignedIn] = useState(() => session.key() !== null);
  useEffect(() => {
    const out = () => setSignedIn(false);
    window.addEventListener('flotilla:signed-out', out);
    return () => window.removeEventListener('flotilla:signed-out', out);
  }, []);
  useEffect(() => {
    if (!signedIn) return;
    startLive();
    return stopLive;
  }, [signedIn]);
  if (!signedIn) return <Login onSignedIn={() => setSignedIn(true)} />;
  return <Shell />;
}

const NAV = [
  { to: '/', label: 'Overview' },
  { to: '/devices', label: 'Devices' },
  { to: '/releases', label: 'Releases' },
  { to: '/rollouts', label: 'Rollouts' },
];

function Shell() {
  const { path } = useLocation();
  const live = useLiveStatus();
  return (
    <div className="shell">
      <header>
        <h1>
          <Logo /> Flotilla
        </h1>
        <nav>
          {NAV.map((n) => (
            <Link key={n.to} to={n.to} className={(n.to === '/' ? path === '/' : path.startsWith(n.to)) ? 'active' : ''}>
              {n.label}
            </Link>
          ))}
        </nav>
        <span className={`live ${live ? 'on' : ''}`} data-testid="live" title={live ? 'live updates connected' : 'reconnecting'}>
          {live ? '● live' : '○ offline'}
        </span>
        <button className="link" onClick={session.signOut}>
          Sign out
        </button>
      </header>
      <main>{route(path)}</main>
    </div>
  );
}

function route(path: string) {
  let m: Record<string, string> | null;
  if (path === '/' || path === '') return <Overview />;
  if (path === '/devices') return <Devices />;
  if ((m = match('/devices/:id', path))) return <Device key={m.id} id={m.id!} />;
  if (path === '/releases') return <Releases />;
  if ((m = match('/releases/:a/diff/:b', path))) return <Diff a={m.a!} b={m.b!} />;
  if ((m = match('/releases/:id', path))) return <Release key={m.id} id={m.id!} />;
  if (path === '/rollouts') return <Rollouts />;
  if (path === '/rollouts/new') return <NewRollout />;
  if ((m = match('/rollouts/:id', path))) return <Rollout key={m.id} id={m.id!} />;
  return <p>Nothing here.</p>;
}

import { render } from 'preact';
import './app.css';
import { live } from './live.js';
import { Layout, Loading } from './parts/layout.js';
import { DashPage } from './pages/dash.js';
import { FlowPage } from './pages/flow.js';
import { HostsPage } from './pages/hosts.js';
import { LoginPage } from './pages/login.js';
import { RunPage } from './pages/run.js';
import { Link, match, navigate, place, to } from './router.js';
import { loadSession, me } from './session.js';

function NotFound() {
  return (
    <Layout title="Not found">
      <p>
        Nothing at <code>{place.value.path}</code>. <Link href={to.dash()}>Go to the dashboard</Link>.
      </p>
    </Layout>
  );
}

function App() {
  const { path, query } = place.value;
  if (path === '/app/login') return <LoginPage />;
  const user = me.value;
  if (user === undefined) return <Loading />;
  if (user === null) return <Loading />;
  live.start();
  if (path === '/app/dash' || path === '/app/dash/') return <DashPage />;
  if (path === '/app/hosts' || path === '/app/hosts/') return <HostsPage />;
  const run = match('/app/flows/:flow/runs/:run', path);
  if (run) return <RunPage key={`${run.flow}/${run.run}`} flow={run.flow!} run={run.run!} node={query.get('node') ?? undefined} />;
  const flow = match('/app/flows/:flow', path);
  if (flow) return <FlowPage key={flow.flow} flow={flow.flow!} />;
  return <NotFound />;
}

const root = document.getElementById('app')!;
render(<App />, root);
if (place.value.path === '/app' || place.value.path === '/app/') navigate(to.dash(), { replace: true });
if (place.value.path !== '/app/login') void loadSession().catch(() => {});

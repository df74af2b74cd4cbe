import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { webappSource, type WebappSource } from '../../src/cli/webapp-source.js';
import { createLogger } from '../../src/host/logger.js';
import { WEBAPP_SRC } from '../../src/server/webapp/bundle.js';

// Inside the repository, so the copy's imports (preact, ...) resolve from its node_modules.
const OUTPUT = fileURLToPath(new URL('../../../test-output', import.meta.url));

async function servedJs(src: WebappSource): Promise<string> {
  const m = await src.files.manifest();
  assert.ok(m, 'no manifest');
  const js = await src.files.asset(m.js);
  assert.ok(js, `no ${m.js}`);
  return js.body.toString();
}

/** Waits for what the dev server serves to satisfy `ok`: esbuild's watcher rebuilds on its own time. */
async function until(src: WebappSource, ok: (js: string) => boolean): Promise<string> {
  for (;;) {
    const js = await servedJs(src);
    if (ok(js)) return js;
    await sleep(50);
  }
}

test('-dev serves the webapp from its sources and rebuilds on change; a broken edit keeps the last good bundle', async () => {
  await mkdir(OUTPUT, { recursive: true });
  const root = await mkdtemp(path.join(OUTPUT, 'webapp-dev-'));
  const copy = path.join(root, 'webapp');
  await cp(WEBAPP_SRC, copy, { recursive: true });
  const errors: string[] = [];
  const log = createLogger({ level: 'silent', pretty: false });
  log.error = (obj: unknown) => {
    errors.push(String((obj as { error?: string }).error));
  };
  const src = await webappSource(true, log, copy);
  try {
    const first = await servedJs(src);
    assert.match(first, /preact|createElement|render/i, 'the first build is served');
    await appendFile(path.join(copy, 'src', 'main.tsx'), '\nconsole.log("floe-dev-marker-1");\n');
    await until(src, (js) => js.includes('floe-dev-marker-1'));
    await appendFile(path.join(copy, 'src', 'main.tsx'), '\nconst = ;\n');
    while (errors.length === 0) await sleep(50);
    assert.match(errors[0]!, /expected|unexpected/i);
    assert.ok((await servedJs(src)).includes('floe-dev-marker-1'), 'the last good bundle stays served');
  } finally {
    await src.close();
    await rm(root, { recursive: true, force: true });
  }
});

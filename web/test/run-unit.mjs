// Runs the unit tests (src/**/*.test.ts) with Node's test runner: each file is bundled by esbuild
// (TypeScript and JSX stripped, nothing type-checked here: `npm run typecheck` does that) into a
// temporary directory first. Usage: npm test
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const find = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? find(path.join(dir, e.name)) : e.name.endsWith('.test.ts') ? [path.join(dir, e.name)] : []);
const tests = find(path.join(root, 'src'));
const out = mkdtempSync(path.join(tmpdir(), 'gpufleet-web-unit-'));
try {
  await build({
    entryPoints: tests,
    outdir: out,
    outbase: path.join(root, 'src'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outExtension: { '.js': '.mjs' },
    loader: { '.css': 'empty' },
    logLevel: 'warning',
  });
  const files = tests.map((t) => path.join(out, path.relative(path.join(root, 'src'), t)).replace(/\.ts$/, '.mjs'));
  const run = spawnSync(process.execPath, ['--test', ...files], { stdio: 'inherit' });
  process.exitCode = run.status ?? 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}

// Builds the web UI (web/, Preact + Chart.js) into dist/public with esbuild: one hashed JS and CSS
// bundle and an index.html that names them. Type checking of web/ is `npm run typecheck`.
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'dist', 'public');

async function main() {
  fs.rmSync(out, { recursive: true, force: true });
  const result = await esbuild.build({
    entryPoints: { app: path.join(root, 'web', 'main.tsx') },
    bundle: true,
    minify: true,
    sourcemap: true,
    format: 'esm',
    target: ['es2020'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: out,
    entryNames: '[name]-[hash]',
    metafile: true,
    logLevel: 'warning',
  });
  const files = Object.keys(result.metafile.outputs).map((f) => path.basename(f));
  const js = files.find((f) => f.endsWith('.js'));
  const css = files.find((f) => f.endsWith('.css'));
  const html = fs
    .readFileSync(path.join(root, 'web', 'index.html'), 'utf8')
    .replace('<!--CSS-->', css ? `<link rel="stylesheet" href="/${css}">` : '')
    .replace('<!--JS-->', `<script type="module" src="/${js}"></script>`);
  fs.writeFileSync(path.join(out, 'index.html'), html);
}

main().catch((e) => {
  process.stderr.write(`web UI build failed: ${e.message}\n`);
  process.exit(1);
});

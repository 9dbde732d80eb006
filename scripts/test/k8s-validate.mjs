#!/usr/bin/env node
// Validates Kubernetes objects (a JSON array on standard input) against the Kubernetes API schemas
// of the npm package kubernetes-models, and the CloudNativePG ones of
// @kubernetes-models/cloudnative-pg, offline; prints {"errors": [...]} on standard output. Used by
// k8s.e2e-spec.js (a child process: the models are ES modules only, which jest's CommonJS
// runtime cannot import).
//
// Two checks per object:
//   schema  the model's validate(): types, required fields, enums, formats (the API's OpenAPI
//           schema, as the API server's own validation would apply it);
//   fields  a TypeScript type check of the object as a literal of the model's interface: the
//           schemas allow unknown fields, which the API server drops or refuses (a misspelt
//           `readinesProbe` would pass the first check and silently mean no probe).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The module and interface of an object's model, by apiVersion. */
function modelOf({ apiVersion, kind }) {
  if (apiVersion === 'postgresql.cnpg.io/v1') return { module: `@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/${kind}`, type: `I${kind}` };
  return { module: `kubernetes-models/${apiVersion}/${kind}`, type: `I${kind}` };
}
const nameOf = (o) => `${o.kind}/${o.metadata?.name ?? '?'}`;

const objects = JSON.parse(readFileSync(0, 'utf8'));
const errors = [];

for (const o of objects) {
  const { module } = modelOf(o);
  let Model;
  try {
    Model = (await import(module))[o.kind];
  } catch (err) {
    errors.push(`${nameOf(o)}: no model for ${o.apiVersion} ${o.kind} (${err.code ?? err.message})`);
    continue;
  }
  try {
    new Model(o).validate();
  } catch (err) {
    errors.push(`${nameOf(o)}: schema: ${err.message}`);
  }
}

// The type check: one virtual file beside this one (so that node_modules resolves), never written.
const file = path.join(here, '__k8s_objects__.ts');
const types = new Map();
let source = '';
objects.forEach((o, i) => {
  const { module, type } = modelOf(o);
  if (!types.has(module)) source += `import type { ${type} as T${types.size} } from ${JSON.stringify(module)};\n`;
  if (!types.has(module)) types.set(module, `T${types.size}`);
  source += `// ${nameOf(o)}\nexport const o${i}: ${types.get(module)} = ${JSON.stringify(o)};\n`;
});
const options = {
  noEmit: true,
  strict: true,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  target: ts.ScriptTarget.ES2022,
  types: [],
  skipLibCheck: true,
};
const host = ts.createCompilerHost(options);
const { getSourceFile, fileExists, readFile } = host;
host.getSourceFile = (f, language, ...rest) => (f === file ? ts.createSourceFile(f, source, language) : getSourceFile.call(host, f, language, ...rest));
host.fileExists = (f) => f === file || fileExists.call(host, f);
host.readFile = (f) => (f === file ? source : readFile.call(host, f));
const program = ts.createProgram([file], options, host);
const lines = source.split('\n');
for (const d of ts.getPreEmitDiagnostics(program)) {
  let where = '';
  if (d.file?.fileName === file && d.start !== undefined) {
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    where = (lines[line - 1] ?? '').replace(/^\/\/ /, '');
  }
  errors.push(`${where || d.file?.fileName || 'objects'}: fields: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
}

process.stdout.write(JSON.stringify({ errors }));

// docs/openapi.yaml as a test oracle, for the tests of the ingress (answers) and the callback
// worker (callbacks); not exported from the package's index, so that no service loads it. Its
// libraries are devDependencies. The document checked as OpenAPI 3.1 by
// @seriousme/openapi-schema-validator (ESM only, so run as its CLI in a child process), and
// answers and callback requests checked against it with Ajv's JSON Schema 2020-12 (the dialect of
// OpenAPI 3.1). XML answers are parsed and checked against the schema the document gives them.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parse } from 'yaml';

export const OPENAPI_PATH = path.join(__dirname, '..', '..', '..', 'docs', 'openapi.yaml');

/** The document's own validation as OpenAPI (its version read from the file). */
export function validateOpenApiDocument(file = OPENAPI_PATH): { valid: boolean; output: string } {
  const cli = path.join(path.dirname(require.resolve('@seriousme/openapi-schema-validator/package.json')), 'bin', 'validate-api-cli.js');
  const r = spawnSync(process.execPath, [cli, file], { encoding: 'utf8' });
  const output = `${r.stdout}${r.stderr}`;
  let valid = false;
  try {
    valid = r.status === 0 && (JSON.parse(r.stdout) as { valid?: boolean }).valid === true;
  } catch {
    valid = false;
  }
  return { valid, output };
}

export interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/** A callback request as a partner's server received it. */
export interface CallbackRequest {
  method: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
}

type Json = Record<string, unknown>;
const DOC_ID = 'https://smsgw.invalid/openapi.yaml';
const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>';

/** Where a value sits in the document (a JSON pointer) and the value, `$ref`s followed. */
interface Located {
  pointer: string;
  value: Json;
}

export class OpenApiContract {
  readonly doc: Json;
  /** Bodies as sent (JSON, text). */
  private readonly ajv: Ajv2020;
  /** XML text and query parameters are strings on the wire: integers are read from them. */
  private readonly coercing: Ajv2020;

  constructor(file = OPENAPI_PATH) {
    this.doc = parse(readFileSync(file, 'utf8')) as Json;
    const make = (coerceTypes: boolean) => {
      const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, coerceTypes });
      // OpenAPI's own schema keywords, and the document's fields (Ajv takes the whole document
      // as the schema that every pointer below is resolved in): annotations for validation.
      ajv.addVocabulary(['xml', 'example', 'discriminator', 'externalDocs', ...Object.keys(this.doc).filter((k) => !ajv.RULES.keywords[k])]);
      ajv.addSchema(this.doc, DOC_ID);
      return ajv;
    };
    this.ajv = make(false);
    this.coercing = make(true);
  }

  /** Errors of an answer to `method path` against the document; empty when it conforms. */
  checkAnswer(method: string, urlPath: string, answer: Answer): string[] {
    const op = this.locate(`#/paths/${escape(urlPath)}/${method.toLowerCase()}`);
    const responses = (op.value.responses ?? {}) as Json;
    const key = String(answer.status) in responses ? String(answer.status) : `${String(answer.status)[0]}XX` in responses ? `${String(answer.status)[0]}XX` : 'default';
    if (!(key in responses)) return [`${method} ${urlPath}: HTTP ${answer.status} is not documented`];
    const response = this.locate(`${op.pointer}/responses/${key}`);
    const content = (response.value.content ?? {}) as Json;
    const mediaType = Object.keys(content).find((t) => normalizeType(t) === normalizeType(answer.contentType));
    if (mediaType === undefined) return [`${method} ${urlPath} ${answer.status}: content type "${answer.contentType}" is not documented (${Object.keys(content).join(', ')})`];
    const schemaPointer = `${response.pointer}/content/${escape(mediaType)}/schema`;
    const base = normalizeType(mediaType).split(';')[0];
    if (base === 'application/json') {
      let data: unknown;
      try {
        data = JSON.parse(answer.body);
      } catch (e) {
        return [`not JSON: ${(e as Error).message}`];
      }
      return this.run(this.ajv, schemaPointer, data);
    }
    if (base === 'application/xml') return this.checkXml(schemaPointer, answer.body);
    return this.run(this.ajv, schemaPointer, answer.body);
  }

  /** Errors of a request the platform made to a partner, against `webhooks.<name>`. */
  checkCallback(name: string, req: CallbackRequest): string[] {
    const item = this.locate(`#/webhooks/${escape(name)}`);
    const method = req.method.toLowerCase();
    if (!(method in item.value)) return [`webhook ${name}: method ${req.method} is not documented`];
    const op = this.locate(`${item.pointer}/${method}`);
    const errors: string[] = [];
    const declared = new Set<string>();
    ((op.value.parameters ?? []) as unknown[]).forEach((_, i) => {
      const p = this.locate(`${op.pointer}/parameters/${i}`);
      const { name: pName, in: where, required } = p.value as { name: string; in: string; required?: boolean };
      let values: string[];
      if (where === 'query') {
        declared.add(pName);
        values = req.query.getAll(pName);
      } else {
        const h = req.headers[pName.toLowerCase()];
        values = h === undefined ? [] : Array.isArray(h) ? h : [h];
      }
      if (values.length === 0) {
        if (required) errors.push(`${where} parameter ${pName} is missing`);
        return;
      }
      if (values.length > 1) errors.push(`${where} parameter ${pName} given ${values.length} times`);
      const pointer = `${p.pointer}/schema`;
      for (const v of values) errors.push(...this.run(this.coercing, pointer, v).map((e) => `${pName}=${JSON.stringify(v)}: ${e}`));
    });
    for (const key of new Set(req.query.keys())) if (!declared.has(key)) errors.push(`query parameter ${key} is not documented`);
    return errors;
  }

  /** Every `name` of the query parameters an operation documents (its `$ref`s followed). */
  queryParameterNames(pointer: string): string[] {
    const op = this.locate(pointer);
    return ((op.value.parameters ?? []) as unknown[])
      .map((_, i) => this.locate(`${op.pointer}/parameters/${i}`).value as { name: string; in: string })
      .filter((p) => p.in === 'query')
      .map((p) => p.name);
  }

  /** The documented HTTP statuses of an operation. */
  statuses(method: string, urlPath: string): string[] {
    return Object.keys((this.locate(`#/paths/${escape(urlPath)}/${method.toLowerCase()}`).value.responses ?? {}) as Json);
  }

  /** Follows `$ref`s (local ones: the document is one file). */
  locate(pointer: string): Located {
    let ptr = pointer;
    for (let hops = 0; hops < 20; hops++) {
      const value = ptr
        .replace(/^#\/?/, '')
        .split('/')
        .filter((s) => s !== '')
        .reduce<unknown>((node, seg) => (node as Json | undefined)?.[unescape(seg)], this.doc) as Json | undefined;
      if (value === undefined) throw new Error(`${ptr} is not in the OpenAPI document`);
      if (typeof value.$ref !== 'string') return { pointer: ptr, value };
      ptr = value.$ref;
    }
    throw new Error(`${pointer}: $ref loop`);
  }

  private checkXml(schemaPointer: string, body: string): string[] {
    if (!body.startsWith(XML_DECLARATION)) return [`XML answer does not start with ${XML_DECLARATION}`];
    const wellFormed = XMLValidator.validate(body);
    if (wellFormed !== true) return [`XML not well-formed: ${wellFormed.err.msg}`];
    const schema = this.locate(schemaPointer);
    const root = (schema.value.xml as { name?: string } | undefined)?.name;
    if (!root) return [`${schemaPointer}: no xml.name for the root element`];
    const arrays = new Set<string>();
    this.xmlArrayPaths(schema.pointer, root, arrays, new Set());
    const parser = new XMLParser({ ignoreDeclaration: true, ignoreAttributes: false, parseTagValue: false, trimValues: false, isArray: (_name, jpath) => arrays.has(String(jpath)) });
    const parsed = parser.parse(body) as Json;
    const roots = Object.keys(parsed);
    if (roots.length !== 1 || roots[0] !== root) return [`XML root is <${roots.join('>, <')}>, the document says <${root}>`];
    return this.run(this.coercing, schemaPointer, parsed[root]);
  }

  /** Element paths (`response.payload.message`) that the schema makes arrays: repeated elements. */
  private xmlArrayPaths(pointer: string, at: string, out: Set<string>, seen: Set<string>): void {
    const key = `${pointer} ${at}`;
    if (seen.has(key)) return;
    seen.add(key);
    const s = this.locate(pointer);
    for (const k of ['oneOf', 'anyOf', 'allOf'] as const) {
      ((s.value[k] ?? []) as unknown[]).forEach((_, i) => this.xmlArrayPaths(`${s.pointer}/${k}/${i}`, at, out, seen));
    }
    for (const prop of Object.keys((s.value.properties ?? {}) as Json)) {
      const p = this.locate(`${s.pointer}/properties/${escape(prop)}`);
      const element = `${at}.${(p.value.xml as { name?: string } | undefined)?.name ?? prop}`;
      if (p.value.type === 'array') {
        out.add(element);
        this.xmlArrayPaths(`${p.pointer}/items`, element, out, seen);
      } else this.xmlArrayPaths(p.pointer, element, out, seen);
    }
  }

  private run(ajv: Ajv2020, pointer: string, data: unknown): string[] {
    // A URI fragment: each segment percent-encoded (media types hold spaces and `;`).
    const fragment = pointer.replace(/^#/, '').split('/').map(encodeURIComponent).join('/');
    const validate = ajv.getSchema(`${DOC_ID}#${fragment}`) as ValidateFunction | undefined;
    if (!validate) return [`no schema at ${pointer}`];
    if (validate(data)) return [];
    return (validate.errors ?? []).map((e) => `${pointer}${e.instancePath} ${e.message ?? e.keyword}`);
  }
}

function normalizeType(t: string): string {
  return t.toLowerCase().replace(/\s+/g, '');
}

/** JSON pointer escaping of one segment. */
function escape(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescape(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

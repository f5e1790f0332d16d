/**
 * Triton config.pbtxt (protobuf text format) for one model variant: render, derive from the spec,
 * and parse back. Only the subset the pipeline writes is modelled; the parser skips other fields
 * (inputs, outputs, queue policies ...) so the sample's own files can be read.
 * Pure: no I/O, no Node built-ins, no Temporal imports.
 */
import type { ModelSpec, VariantSpec } from '../spec/schema.js';

export type ModelPlatform = 'tensorrt_plan' | 'onnxruntime_onnx' | 'python';
export type InstanceKind = 'KIND_GPU' | 'KIND_CPU';

export interface ModelConfigInput {
  name: string;
  platform: ModelPlatform;
  maxBatchSize: number;
  instances: number;
  kind: InstanceKind;
  gpus?: number[];
  /** TensorRT optimization profile index, rendered as profile: ["2"] in instance_group. */
  profile?: number;
  dynamicBatching?: { preferredBatchSizes: number[]; maxQueueDelayMicroseconds: number };
  /** true/false render optimization { cuda { graphs: ... } }; undefined renders nothing. */
  cudaGraphs?: boolean;
  /** Explicit Triton backend; for platform "python" it names a Python-based backend (default "python"). */
  backend?: string;
  parameters?: Record<string, string>;
}

export interface ModelConfigTarget {
  platform: ModelPlatform;
  kind: InstanceKind;
  cudaGraphs?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Render

const INDENT = '  ';

function quote(s: string): string {
  return `"${s.replace(/[\\"\n\r\t]/g, (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] ?? c)}"`;
}

function checkInt(what: string, n: number, min: number): void {
  if (!Number.isInteger(n) || n < min) throw new Error(`${what} must be an integer >= ${min}, got ${n}`);
}

/** Renders config.pbtxt with a fixed field order, 2-space indentation and a trailing newline. */
export function renderModelConfig(input: ModelConfigInput): string {
  if (input.name.length === 0) throw new Error('model config name must not be empty');
  checkInt('max_batch_size', input.maxBatchSize, 0);
  checkInt('instance_group count', input.instances, 1);
  for (const g of input.gpus ?? []) checkInt('gpu index', g, 0);
  if (input.profile !== undefined) checkInt('profile', input.profile, 0);

  const lines: string[] = [];
  const at = (depth: number, text: string) => lines.push(INDENT.repeat(depth) + text);

  // Always write name: the sample's Bert configs omitted it and relied on the directory name.
  at(0, `name: ${quote(input.name)}`);
  if (input.platform === 'python') {
    // Python models have no platform value in Triton; the backend field selects them.
    at(0, `backend: ${quote(input.backend ?? 'python')}`);
  } else {
    at(0, `platform: ${quote(input.platform)}`);
    if (input.backend !== undefined) at(0, `backend: ${quote(input.backend)}`);
  }
  at(0, `max_batch_size: ${input.maxBatchSize}`);

  if (input.dynamicBatching !== undefined) {
    const db = input.dynamicBatching;
    for (const s of db.preferredBatchSizes) checkInt('preferred_batch_size', s, 1);
    checkInt('max_queue_delay_microseconds', db.maxQueueDelayMicroseconds, 0);
    at(0, 'dynamic_batching {');
    if (db.preferredBatchSizes.length > 0) at(1, `preferred_batch_size: [ ${db.preferredBatchSizes.join(', ')} ]`);
    at(1, `max_queue_delay_microseconds: ${db.maxQueueDelayMicroseconds}`);
    at(0, '}');
  }

  at(0, 'instance_group [');
  at(1, '{');
  at(2, `count: ${input.instances}`);
  at(2, `kind: ${input.kind}`);
  // An empty gpus list means "absent" in text format (repeated field), so it is not written.
  if (input.gpus !== undefined && input.gpus.length > 0) at(2, `gpus: [ ${input.gpus.join(', ')} ]`);
  if (input.profile !== undefined) at(2, `profile: [${quote(String(input.profile))}]`);
  at(1, '}');
  at(0, ']');

  if (input.cudaGraphs !== undefined) {
    at(0, 'optimization {');
    at(1, 'cuda {');
    at(2, `graphs: ${input.cudaGraphs}`);
    at(1, '}');
    at(0, '}');
  }

  // Sorted keys keep the output deterministic regardless of object construction order.
  for (const key of Object.keys(input.parameters ?? {}).sort()) {
    at(0, 'parameters {');
    at(1, `key: ${quote(key)}`);
    at(1, 'value: {');
    at(2, `string_value: ${quote(input.parameters?.[key] ?? '')}`);
    at(1, '}');
    at(0, '}');
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Spec -> input

/**
 * Maps one spec variant to a config input. The TensorRT profile defaults to the model's last
 * optimization profile (the one the schema cross-checks maxBatchSize against); BERT-style
 * Transformers engines get CUDA graphs like the sample's Bert configs.
 */
export function modelConfigFromVariant(
  model: ModelSpec,
  variant: VariantSpec,
  target: ModelConfigTarget,
  gpusPerPod = 1,
): ModelConfigInput {
  const out: ModelConfigInput = {
    name: variant.name,
    platform: target.platform,
    maxBatchSize: variant.maxBatchSize,
    instances: variant.instances,
    kind: target.kind,
  };
  // A KIND_GPU group's count is per GPU listed in `gpus`, and a group without `gpus` places that
  // count on every GPU Triton sees (Triton's model configuration, "Multiple Model Instances"). A pod
  // with one GPU sees it as device 0 (the sample's config, kept so its repositories do not change);
  // a pod with several lists none, so each of them runs the variant's instances.
  if (target.kind === 'KIND_GPU' && gpusPerPod === 1) out.gpus = [0];
  if (target.platform === 'tensorrt_plan') {
    const profile = variant.profile ?? model.optimizationProfiles.length - 1;
    if (profile < 0 || profile >= model.optimizationProfiles.length) {
      throw new Error(
        `variant "${variant.name}" uses profile ${profile}, but model "${model.name}" has ${model.optimizationProfiles.length} optimization profile(s)`,
      );
    }
    out.profile = profile;
  }
  if (variant.dynamicBatching !== undefined) {
    out.dynamicBatching = {
      preferredBatchSizes: [...variant.dynamicBatching.preferredBatchSizes],
      maxQueueDelayMicroseconds: variant.dynamicBatching.maxQueueDelayMicroseconds,
    };
  }
  const graphs = target.cudaGraphs ?? (model.format === 'transformers' && target.platform === 'tensorrt_plan');
  if (graphs) out.cudaGraphs = true;
  return out;
}

/**
 * Triton's refusal to load a model whose instance group names a GPU the server cannot see, as its
 * log and its load reply say it (model_lifecycle.cc; recorded in test/fixtures/gpu/h200-placement.json).
 * An unnamed group is called <model>_<index>.
 */
export function invalidGpuLoadError(model: string, groupIndex: number, gpu: number, visibleGpus: number): string {
  const visible = Array.from({ length: visibleGpus }, (_, i) => i).join(', ');
  return `failed to load '${model}' version 1: Invalid argument: instance group ${model}_${groupIndex} of model ${model} specifies invalid or unsupported gpu id ${gpu}. GPUs with at least the minimum required CUDA compute compatibility of 6.000000 are: ${visible}`;
}

// ---------------------------------------------------------------------------------------------
// Parse: tokenizer + generic text-format tree, then interpretation of the known fields.

interface Pos {
  line: number;
  col: number;
}

interface Token extends Pos {
  kind: 'ident' | 'number' | 'string' | 'punct' | 'eof';
  /** Source text; for strings the decoded value. */
  text: string;
}

interface PbScalar extends Pos {
  type: 'scalar';
  token: 'ident' | 'number' | 'string';
  text: string;
}

interface PbMessage extends Pos {
  type: 'message';
  fields: PbField[];
}

interface PbField extends Pos {
  name: string;
  value: PbScalar | PbMessage;
}

function errorAt(pos: Pos, message: string): Error {
  return new Error(`config.pbtxt line ${pos.line}, column ${pos.col}: ${message}`);
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"', "'": "'", '?': '?', a: '\x07', b: '\b', f: '\f', v: '\v' };

function tokenize(text: string): Token[] {
  // Sticky, so each match starts where the scan is: made per call, as a shared (frozen) module's
  // regular expression could not be moved along.
  const number = /[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[fF]?|inf|nan)/y;
  const ident = /[A-Za-z_][A-Za-z0-9_]*/y;
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  while (i < text.length) {
    const c = text[i] as string;
    const pos = { line, col: i - lineStart + 1 };
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if ('{}[]:,;<>'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, ...pos });
      i++;
    } else if (c === '"' || c === "'") {
      let value = '';
      i++;
      for (;;) {
        const d = text[i];
        if (d === undefined || d === '\n') throw errorAt(pos, 'unterminated string');
        i++;
        if (d === c) break;
        if (d === '\\') {
          const e = text[i];
          const mapped = e === undefined ? undefined : ESCAPES[e];
          if (mapped === undefined) throw errorAt({ line, col: i - lineStart }, `unsupported escape "\\${e ?? ''}" in string`);
          value += mapped;
          i++;
        } else {
          value += d;
        }
      }
      tokens.push({ kind: 'string', text: value, ...pos });
    } else {
      ident.lastIndex = i;
      number.lastIndex = i;
      const num = /[-+.0-9]/.test(c) ? number.exec(text) : null;
      const word = num === null ? ident.exec(text) : null;
      const match = num ?? word;
      if (match === null) throw errorAt(pos, `unexpected character ${JSON.stringify(c)}`);
      tokens.push({ kind: num !== null ? 'number' : 'ident', text: match[0], ...pos });
      i += match[0].length;
    }
  }
  tokens.push({ kind: 'eof', text: 'end of input', line, col: i - lineStart + 1 });
  return tokens;
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of input';
  if (t.kind === 'string') return `string ${JSON.stringify(t.text)}`;
  return `"${t.text}"`;
}

function parseTree(text: string): PbMessage {
  const tokens = tokenize(text);
  let k = 0;
  const peek = (): Token => tokens[k] as Token;
  const next = (): Token => tokens[k++] as Token;
  const isPunct = (t: Token, p: string) => t.kind === 'punct' && t.text === p;

  function parseMessage(open: Token | null): PbMessage {
    const close = open === null ? null : open.text === '<' ? '>' : '}';
    const msg: PbMessage = { type: 'message', fields: [], line: open?.line ?? 1, col: open?.col ?? 1 };
    for (;;) {
      const t = peek();
      if (close === null && t.kind === 'eof') return msg;
      if (close !== null && isPunct(t, close)) {
        next();
        return msg;
      }
      if (t.kind === 'eof' && open !== null) {
        throw errorAt(t, `expected "${close}" to close the message opened at line ${open.line}, column ${open.col}`);
      }
      if (t.kind !== 'ident') throw errorAt(t, `expected a field name, found ${describe(t)}`);
      parseField(msg);
      // Text format allows an optional "," or ";" after each field.
      if (isPunct(peek(), ',') || isPunct(peek(), ';')) next();
    }
  }

  function parseScalar(): PbScalar {
    const t = next();
    if (t.kind === 'string') {
      // Adjacent string literals concatenate, as in protobuf.
      let value = t.text;
      while (peek().kind === 'string') value += next().text;
      return { type: 'scalar', token: 'string', text: value, line: t.line, col: t.col };
    }
    if (t.kind === 'ident' || t.kind === 'number') return { type: 'scalar', token: t.kind, text: t.text, line: t.line, col: t.col };
    throw errorAt(t, `expected a value, found ${describe(t)}`);
  }

  function parseValue(): PbScalar | PbMessage {
    const t = peek();
    if (isPunct(t, '{') || isPunct(t, '<')) return parseMessage(next());
    return parseScalar();
  }

  function parseField(msg: PbMessage): void {
    const nameTok = next();
    const add = (value: PbScalar | PbMessage) => msg.fields.push({ name: nameTok.text, value, line: nameTok.line, col: nameTok.col });
    let colon = false;
    if (isPunct(peek(), ':')) {
      next();
      colon = true;
    }
    const t = peek();
    if (isPunct(t, '[')) {
      // A list is shorthand for repeating the field once per element.
      const open = next();
      if (isPunct(peek(), ']')) {
        next();
        return;
      }
      for (;;) {
        add(parseValue());
        const sep = next();
        if (isPunct(sep, ']')) return;
        if (!isPunct(sep, ',')) {
          throw errorAt(sep, `expected "," or "]" in the list opened at line ${open.line}, column ${open.col}, found ${describe(sep)}`);
        }
      }
    }
    if (isPunct(t, '{') || isPunct(t, '<')) {
      add(parseMessage(next()));
      return;
    }
    if (!colon) throw errorAt(t, `expected ":" after field "${nameTok.text}", found ${describe(t)}`);
    add(parseScalar());
  }

  return parseMessage(null);
}

// --- typed accessors over the tree, each error names the offending position

function fieldsOf(msg: PbMessage, name: string): PbField[] {
  return msg.fields.filter((f) => f.name === name);
}

function single(msg: PbMessage, name: string): PbField | undefined {
  const found = fieldsOf(msg, name);
  const second = found[1];
  if (second !== undefined) throw errorAt(second, `field "${name}" is set more than once`);
  return found[0];
}

function asMessage(f: PbField): PbMessage {
  if (f.value.type !== 'message') throw errorAt(f.value, `field "${f.name}" must be a message ({ ... })`);
  return f.value;
}

function asScalar(f: PbField, token: PbScalar['token'], expected: string): string {
  if (f.value.type !== 'scalar' || f.value.token !== token) throw errorAt(f.value, `field "${f.name}" must be ${expected}`);
  return f.value.text;
}

function asString(f: PbField): string {
  return asScalar(f, 'string', 'a quoted string');
}

function asInt(f: PbField): number {
  const text = asScalar(f, 'number', 'an integer');
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw errorAt(f.value, `field "${f.name}" must be an integer, got ${text}`);
  return n;
}

function asEnum(f: PbField): string {
  return asScalar(f, 'ident', 'an enum value (e.g. KIND_GPU)');
}

function asBool(f: PbField): boolean {
  const v = f.value;
  if (v.type === 'scalar' && v.token !== 'string') {
    if (['true', 'True', 't', '1'].includes(v.text)) return true;
    if (['false', 'False', 'f', '0'].includes(v.text)) return false;
  }
  throw errorAt(v, `field "${f.name}" must be true or false`);
}

const PLATFORM_OF_BACKEND: Record<string, ModelPlatform> = { tensorrt: 'tensorrt_plan', onnxruntime: 'onnxruntime_onnx' };

export interface ParseModelConfigOptions {
  /** Used when the text has no name field (Triton then uses the model's directory name). */
  name?: string;
}

/**
 * Parses the config.pbtxt subset that renderModelConfig writes. Unknown fields are ignored;
 * syntax errors and unsupported values throw an Error naming the line and column.
 */
export function parseModelConfig(text: string, options: ParseModelConfigOptions = {}): ModelConfigInput {
  const root = parseTree(text);

  const nameField = single(root, 'name');
  const name = nameField !== undefined ? asString(nameField) : options.name;
  if (name === undefined || name.length === 0) {
    throw new Error('config.pbtxt has no name field; pass the model directory name as options.name');
  }

  const platformField = single(root, 'platform');
  const backendField = single(root, 'backend');
  const backendName = backendField !== undefined ? asString(backendField) : undefined;
  let platform: ModelPlatform;
  let backend = backendName;
  if (platformField !== undefined) {
    const p = asString(platformField);
    if (p !== 'tensorrt_plan' && p !== 'onnxruntime_onnx') {
      throw errorAt(platformField.value, `unsupported platform "${p}" (supported: tensorrt_plan, onnxruntime_onnx, or backend "python")`);
    }
    platform = p;
  } else if (backendName !== undefined) {
    // Without a platform, a backend other than tensorrt/onnxruntime is Python or Python-based.
    platform = PLATFORM_OF_BACKEND[backendName] ?? 'python';
    if (platform !== 'python' || backendName === 'python') backend = undefined;
  } else {
    throw new Error('config.pbtxt sets neither platform nor backend');
  }

  const maxBatchField = single(root, 'max_batch_size');
  const out: ModelConfigInput = {
    name,
    platform,
    maxBatchSize: maxBatchField !== undefined ? asInt(maxBatchField) : 0,
    instances: 1,
    kind: 'KIND_GPU',
  };
  if (backend !== undefined) out.backend = backend;

  const dbField = single(root, 'dynamic_batching');
  if (dbField !== undefined) {
    const db = asMessage(dbField);
    const delay = single(db, 'max_queue_delay_microseconds');
    out.dynamicBatching = {
      preferredBatchSizes: fieldsOf(db, 'preferred_batch_size').map(asInt),
      maxQueueDelayMicroseconds: delay !== undefined ? asInt(delay) : 0,
    };
  }

  const groups = fieldsOf(root, 'instance_group');
  if (groups[1] !== undefined) throw errorAt(groups[1], 'only one instance_group entry is supported');
  if (groups[0] !== undefined) {
    const group = asMessage(groups[0]);
    const count = single(group, 'count');
    if (count !== undefined) out.instances = asInt(count);
    const kindField = single(group, 'kind');
    if (kindField !== undefined) {
      const kind = asEnum(kindField);
      if (kind !== 'KIND_GPU' && kind !== 'KIND_CPU') throw errorAt(kindField.value, `unsupported instance kind ${kind} (use KIND_GPU or KIND_CPU)`);
      out.kind = kind;
    }
    const gpus = fieldsOf(group, 'gpus').map(asInt);
    if (gpus.length > 0) out.gpus = gpus;
    const profiles = fieldsOf(group, 'profile');
    if (profiles[1] !== undefined) throw errorAt(profiles[1], 'only one TensorRT profile per instance_group is supported');
    if (profiles[0] !== undefined) {
      const p = asString(profiles[0]);
      if (!/^\d+$/.test(p)) throw errorAt(profiles[0].value, `profile must be a profile index like "2", got "${p}"`);
      out.profile = Number(p);
    }
  }

  const optField = single(root, 'optimization');
  const cudaField = optField !== undefined ? single(asMessage(optField), 'cuda') : undefined;
  const graphsField = cudaField !== undefined ? single(asMessage(cudaField), 'graphs') : undefined;
  if (graphsField !== undefined) out.cudaGraphs = asBool(graphsField);

  const params = fieldsOf(root, 'parameters');
  if (params.length > 0) {
    const record: Record<string, string> = {};
    for (const p of params) {
      const msg = asMessage(p);
      const key = single(msg, 'key');
      const value = single(msg, 'value');
      if (key === undefined || value === undefined) throw errorAt(p, 'parameters needs both key and value');
      const sv = single(asMessage(value), 'string_value');
      if (sv === undefined) throw errorAt(value, 'parameters value needs string_value');
      record[asString(key)] = asString(sv);
    }
    out.parameters = record;
  }
  return out;
}

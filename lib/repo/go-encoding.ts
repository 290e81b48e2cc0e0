/**
 * Byte-for-byte the encoders `nomos hydrate` writes with: Go's encoding/json MarshalIndent and
 * go-yaml v2's Marshal (libyaml's emitter rules for quoting, folding and block scalars), so
 * teams that diff hydrated output see no noise when they move from nomos to pushsync.
 */

// Go's encoding/json MarshalIndent(v, "", "\t") for JSON data.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * A deep copy holding what JSON.stringify would keep of a value: Dates (and other toJSON objects)
 * as their JSON form, undefined and functions dropped (null inside arrays), non-finite numbers null.
 */
export function toJson(value: unknown): Json {
  return toJsonOrSkip(value) ?? null;
}

function toJsonOrSkip(v: unknown): Json | undefined {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : null;
    case 'object': {
      if (v === null) return null;
      const withToJson = v as { toJSON?: unknown };
      if (typeof withToJson.toJSON === 'function') return toJson((withToJson.toJSON as () => unknown).call(v));
      if (Array.isArray(v)) return v.map((x) => toJsonOrSkip(x) ?? null);
      // No prototype: the keys are the repo author's (a ConfigMap may hold `__proto__`), and on a
      // plain object assigning `__proto__` would set the prototype instead of adding the key.
      const out = Object.create(null) as { [key: string]: Json };
      for (const [k, x] of Object.entries(v)) {
        const j = toJsonOrSkip(x);
        if (j !== undefined) out[k] = j;
      }
      return out;
    }
    default:
      return undefined;
  }
}

/**
 * Go sorts map keys by bytes and HTML-escapes `<`, `>`, `&` (and U+2028/2029). Written by hand:
 * a JS object always lists integer-like keys ("2", "10") first, whatever order they were added in.
 */
export function goJsonIndent(value: unknown): string {
  return writeJson(toJson(value), '');
}

function writeJson(v: Json, indent: string): string {
  if (typeof v === 'string') return jsonString(v);
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const inner = `${indent}\t`;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((x) => inner + writeJson(x, inner)).join(',\n')}\n${indent}]`;
  }
  const keys = Object.keys(v).sort(compareBytes);
  if (keys.length === 0) return '{}';
  const entries = keys.map((k) => `${inner}${jsonString(k)}: ${writeJson(v[k] as Json, inner)}`);
  return `{\n${entries.join(',\n')}\n${indent}}`;
}

function jsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function compareBytes(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return Buffer.compare(x, y);
}

// ---------------------------------------------------------------------------------------------
// go-yaml v2 as used by sigs.k8s.io/yaml: block style, 2-space indent, sequences not indented
// under their key, empty collections as `[]`/`{}`, keys in go-yaml's "natural" order, strings
// quoted only when YAML 1.1 would read them as something else, lines folded past column 80.
// This follows libyaml's emitter state rules for the subset of events JSON data produces.

const BEST_INDENT = 2;
const BEST_WIDTH = 80;

type Style = 'plain' | 'single' | 'double' | 'literal';

interface Analysis {
  readonly multiline: boolean;
  readonly flowPlainAllowed: boolean;
  readonly blockPlainAllowed: boolean;
  readonly singleQuotedAllowed: boolean;
  readonly blockAllowed: boolean;
}

interface NodeContext {
  readonly mapping: boolean;
  readonly simpleKey: boolean;
}

/** One YAML document for `value`, as go-yaml v2's Marshal prints it (ends with a newline). */
export function goYaml(value: unknown): string {
  return emitYaml(toJson(value));
}

export function emitYaml(value: Json): string {
  const e = new Emitter();
  e.node(value, { mapping: false, simpleKey: false });
  e.writeIndent(); // document end
  return e.text();
}

class Emitter {
  private readonly parts: string[] = [];
  private column = 0;
  private indent = -1;
  private readonly indents: number[] = [];
  private whitespace = true;
  private indention = true;
  /** Always 0: flow style is used only for empty collections, which hold no nodes. */
  private readonly flowLevel = 0;

  node(v: Json, ctx: NodeContext): void {
    if (Array.isArray(v)) {
      if (v.length === 0) this.emptyFlow('[', ']');
      else this.blockSequence(v, ctx);
    } else if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      if (keys.length === 0) this.emptyFlow('{', '}');
      else this.blockMapping(v, keys.sort(goKeyCompare));
    } else if (typeof v === 'string') {
      this.scalar(v, requestedStringStyle(v), ctx);
    } else {
      this.scalar(formatNonString(v), 'plain', ctx);
    }
  }

  /** Only empty collections are written in flow style, so nothing goes between the brackets. */
  private emptyFlow(open: string, close: string): void {
    this.writeIndicator(open, true, true, false);
    this.writeIndicator(close, false, false, false);
  }

  private blockSequence(items: Json[], ctx: NodeContext): void {
    this.increaseIndent(false, ctx.mapping && !this.indention);
    for (const item of items) {
      this.writeIndent();
      this.writeIndicator('-', true, false, true);
      this.node(item, { mapping: false, simpleKey: false });
    }
    this.popIndent();
  }

  private blockMapping(map: { [key: string]: Json }, keys: string[]): void {
    this.increaseIndent(false, false);
    for (const key of keys) {
      const value = map[key] as Json;
      this.writeIndent();
      const a = analyze(key);
      if (!a.multiline && Buffer.byteLength(key, 'utf8') <= 128) {
        this.scalar(key, requestedStringStyle(key), { mapping: true, simpleKey: true }, a);
        this.writeIndicator(':', false, false, false);
      } else {
        this.writeIndicator('?', true, false, true);
        this.scalar(key, requestedStringStyle(key), { mapping: true, simpleKey: false }, a);
        this.writeIndent();
        this.writeIndicator(':', true, false, true);
      }
      this.node(value, { mapping: true, simpleKey: false });
    }
    this.popIndent();
  }

  private scalar(text: string, requested: Style, ctx: NodeContext, analysis?: Analysis): void {
    const a = analysis ?? analyze(text);
    const style = selectStyle(requested, a, text, ctx.simpleKey, this.flowLevel);
    this.increaseIndent(true, false);
    const allowBreaks = !ctx.simpleKey;
    if (!this.writeShort(text, style, allowBreaks)) this.writeLong(Array.from(text), style, allowBreaks);
    this.popIndent();
  }

  /**
   * The common case in one write: printable ASCII that cannot reach the fold width and needs no
   * escaping. Gives the same bytes as the character-by-character writers. False if it does not apply.
   */
  private writeShort(text: string, style: Style, allowBreaks: boolean): boolean {
    if ((style !== 'plain' && style !== 'double') || !/^[\x20-\x7e]*$/.test(text)) return false;
    if (style === 'double' && /["\\]/.test(text)) return false;
    const start = this.column + (this.whitespace ? 0 : 1) + (style === 'double' ? 1 : 0);
    if (allowBreaks && start + text.length - 1 > BEST_WIDTH) return false;
    if (style === 'plain') {
      if (!this.whitespace) this.put(' ');
    } else {
      this.writeIndicator('"', true, false, false);
    }
    this.putRun(text, text.length);
    if (style === 'double') this.writeIndicator('"', false, false, false);
    this.whitespace = false;
    this.indention = false;
    return true;
  }

  private writeLong(cps: string[], style: Style, allowBreaks: boolean): void {
    if (style === 'plain') this.writePlain(cps, allowBreaks);
    else if (style === 'single') this.writeSingleQuoted(cps, allowBreaks);
    else if (style === 'double') this.writeDoubleQuoted(cps, allowBreaks);
    else this.writeLiteral(cps);
  }

  private increaseIndent(flow: boolean, indentless: boolean): void {
    this.indents.push(this.indent);
    if (this.indent < 0) this.indent = flow ? BEST_INDENT : 0;
    else if (!indentless) this.indent += BEST_INDENT;
  }

  private popIndent(): void {
    this.indent = this.indents.pop() ?? -1;
  }

  text(): string {
    return this.parts.join('');
  }

  /** One character (one column). */
  private put(c: string): void {
    this.parts.push(c);
    this.column++;
  }

  /** A run of characters known to occupy `width` columns. */
  private putRun(s: string, width: number): void {
    this.parts.push(s);
    this.column += width;
  }

  private putBreak(): void {
    this.parts.push('\n');
    this.column = 0;
  }

  private writeBreak(c: string): void {
    if (c === '\n') {
      this.putBreak();
    } else {
      this.parts.push(c);
      this.column = 0;
    }
  }

  writeIndent(): void {
    const indent = Math.max(this.indent, 0);
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) this.putBreak();
    if (this.column < indent) this.putRun(' '.repeat(indent - this.column), indent - this.column);
    this.whitespace = true;
    this.indention = true;
  }

  private writeIndicator(indicator: string, needWhitespace: boolean, isWhitespace: boolean, isIndention: boolean): void {
    if (needWhitespace && !this.whitespace) this.put(' ');
    for (const c of indicator) this.put(c);
    this.whitespace = isWhitespace;
    this.indention = this.indention && isIndention;
  }

  /** Past the width, a single space between words becomes a line break plus indentation. */
  private canFold(allowBreaks: boolean, spaces: boolean): boolean {
    return allowBreaks && !spaces && this.column > BEST_WIDTH;
  }

  private writePlain(cps: string[], allowBreaks: boolean): void {
    if (!this.whitespace) this.put(' ');
    let spaces = false;
    let breaks = false;
    cps.forEach((c, i) => {
      if (c === ' ') {
        if (this.canFold(allowBreaks, spaces) && cps[i + 1] !== ' ') this.writeIndent();
        else this.put(c);
        spaces = true;
      } else if (isBreak(c)) {
        if (!breaks && c === '\n') this.putBreak();
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        this.put(c);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    });
    this.whitespace = false;
    this.indention = false;
  }

  private writeSingleQuoted(cps: string[], allowBreaks: boolean): void {
    this.writeIndicator("'", true, false, false);
    let spaces = false;
    let breaks = false;
    cps.forEach((c, i) => {
      if (c === ' ') {
        const inner = i > 0 && i < cps.length - 1 && cps[i + 1] !== ' ';
        if (this.canFold(allowBreaks, spaces) && inner) this.writeIndent();
        else this.put(c);
        spaces = true;
      } else if (isBreak(c)) {
        if (!breaks && c === '\n') this.putBreak();
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        if (c === "'") this.put("'");
        this.put(c);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    });
    this.writeIndicator("'", false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  private writeDoubleQuoted(cps: string[], allowBreaks: boolean): void {
    this.writeIndicator('"', true, false, false);
    // libyaml's BOM test looks at the start of the value, not at the current character.
    const escapeAll = cps[0] === '\uFEFF';
    let spaces = false;
    cps.forEach((c, i) => {
      const cp = c.codePointAt(0) ?? 0;
      if (escapeAll || !isPrintable(cp) || isBreak(c) || c === '"' || c === '\\') {
        this.put('\\');
        for (const x of escapeSequence(cp)) this.put(x);
        spaces = false;
      } else if (c === ' ') {
        if (this.canFold(allowBreaks, spaces) && i > 0 && i < cps.length - 1) {
          this.writeIndent();
          if (cps[i + 1] === ' ') this.put('\\');
        } else {
          this.put(c);
        }
        spaces = true;
      } else {
        this.put(c);
        spaces = false;
      }
    });
    this.writeIndicator('"', false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  private writeLiteral(cps: string[]): void {
    this.writeIndicator('|', true, false, false);
    const first = cps[0] ?? '';
    if (first === ' ' || isBreak(first)) this.writeIndicator(String(BEST_INDENT), false, false, false);
    const chomp = chompHint(cps);
    if (chomp !== '') this.writeIndicator(chomp, false, false, false);
    this.putBreak();
    this.indention = true;
    this.whitespace = true;
    let breaks = true;
    for (const c of cps) {
      if (isBreak(c)) {
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        this.put(c);
        this.indention = false;
        breaks = false;
      }
    }
  }
}

function chompHint(cps: string[]): string {
  const last = cps[cps.length - 1];
  if (last === undefined || !isBreak(last)) return '-';
  if (cps.length === 1) return '+';
  return isBreak(cps[cps.length - 2] ?? '') ? '+' : '';
}

function selectStyle(requested: Style, a: Analysis, text: string, simpleKey: boolean, flowLevel: number): Style {
  let style = requested;
  if (simpleKey && a.multiline) style = 'double';
  if (style === 'plain') {
    if ((flowLevel > 0 && !a.flowPlainAllowed) || (flowLevel === 0 && !a.blockPlainAllowed)) style = 'single';
    if (text.length === 0 && (flowLevel > 0 || simpleKey)) style = 'single';
  }
  if (style === 'single' && !a.singleQuotedAllowed) style = 'double';
  if (style === 'literal' && (!a.blockAllowed || flowLevel > 0 || simpleKey)) style = 'double';
  return style;
}

/** go-yaml's encoder: literal block for multi-line text, plain when YAML 1.1 reads it back as a string. */
function requestedStringStyle(s: string): Style {
  if (s.includes('\n')) return 'literal';
  return resolvesToString(s) && !isBase60Float(s) ? 'plain' : 'double';
}

const INDICATORS_FIRST = new Set(['#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', "'", '"', '%', '@', '`']);
const FLOW_INDICATORS = new Set([',', '?', '[', ']', '{', '}']);

/** libyaml's scalar analysis: which styles can represent the text. */
function analyze(text: string): Analysis {
  const cps = Array.from(text);
  if (cps.length === 0) {
    return { multiline: false, flowPlainAllowed: false, blockPlainAllowed: true, singleQuotedAllowed: true, blockAllowed: false };
  }
  let blockIndicators = false;
  let flowIndicators = false;
  if (text.startsWith('---') || text.startsWith('...')) {
    blockIndicators = true;
    flowIndicators = true;
  }
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let precededByWhitespace = true;
  let previousSpace = false;
  let previousBreak = false;
  const last = cps.length - 1;
  cps.forEach((c, i) => {
    const next = cps[i + 1];
    const followedByWhitespace = next === undefined || next === ' ' || next === '\t';
    if (i === 0) {
      if (INDICATORS_FIRST.has(c)) {
        flowIndicators = true;
        blockIndicators = true;
      } else if (c === '?' || c === ':') {
        flowIndicators = true;
        if (followedByWhitespace) blockIndicators = true;
      } else if (c === '-' && followedByWhitespace) {
        flowIndicators = true;
        blockIndicators = true;
      }
    } else if (FLOW_INDICATORS.has(c)) {
      flowIndicators = true;
    } else if (c === ':') {
      flowIndicators = true;
      if (followedByWhitespace) blockIndicators = true;
    } else if (c === '#' && precededByWhitespace) {
      flowIndicators = true;
      blockIndicators = true;
    }
    if (!isPrintable(c.codePointAt(0) ?? 0)) special = true;
    if (c === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === last) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      lineBreaks = true;
      if (i === 0) leadingBreak = true;
      if (i === last) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = c === ' ' || c === '\t' || c === '\0' || isBreak(c);
  });

  let flowPlain = true;
  let blockPlain = true;
  let single = true;
  let block = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) {
    flowPlain = false;
    blockPlain = false;
  }
  if (trailingSpace) block = false;
  if (breakSpace) {
    flowPlain = false;
    blockPlain = false;
    single = false;
  }
  if (spaceBreak || special) {
    flowPlain = false;
    blockPlain = false;
    single = false;
    block = false;
  }
  if (lineBreaks) {
    flowPlain = false;
    blockPlain = false;
  }
  if (flowIndicators) flowPlain = false;
  if (blockIndicators) blockPlain = false;
  return { multiline: lineBreaks, flowPlainAllowed: flowPlain, blockPlainAllowed: blockPlain, singleQuotedAllowed: single, blockAllowed: block };
}

function isBreak(c: string): boolean {
  return c === '\r' || c === '\n' || c === '\u0085' || c === '\u2028' || c === '\u2029';
}

/** libyaml's is_printable, by code point (it tests UTF-8 bytes; 4-byte characters are not printable). */
function isPrintable(cp: number): boolean {
  return (
    cp === 0x0a ||
    (cp >= 0x20 && cp <= 0x7e) ||
    (cp >= 0xa0 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff)
  );
}

const SHORT_ESCAPES: ReadonlyMap<number, string> = new Map([
  [0x00, '0'], [0x07, 'a'], [0x08, 'b'], [0x09, 't'], [0x0a, 'n'], [0x0b, 'v'], [0x0c, 'f'], [0x0d, 'r'],
  [0x1b, 'e'], [0x22, '"'], [0x5c, '\\'], [0x85, 'N'], [0xa0, '_'], [0x2028, 'L'], [0x2029, 'P'],
]);

function escapeSequence(cp: number): string {
  const short = SHORT_ESCAPES.get(cp);
  if (short !== undefined) return short;
  const hex = cp.toString(16).toUpperCase();
  if (cp <= 0xff) return `x${hex.padStart(2, '0')}`;
  if (cp <= 0xffff) return `u${hex.padStart(4, '0')}`;
  return `U${hex.padStart(8, '0')}`;
}

// go-yaml v2's resolver (YAML 1.1): a string that would read back as another type gets quoted.
// It only consults its table of special words when the first character could start one.
const YAML11_SPECIAL = new Set([
  'y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON',
  'n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF',
  '', '~', 'null', 'Null', 'NULL', '.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF',
  '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF',
]);
const DECIMAL_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

function resolvesToString(s: string): boolean {
  if (YAML11_SPECIAL.has(s)) return false;
  const c = s[0];
  if (c === '.') return !(underscoresBetweenDigits(s) && isGoFloat(s.replaceAll('_', '')));
  if (c === '+' || c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
    if (looksLikeTimestamp(s)) return false;
    const plain = s.replaceAll('_', '');
    if (parsesAsGoInt(plain)) return false;
    if (isGoFloat(plain)) return false;
    if (plain.startsWith('0b') && parsesInBase2(plain.slice(2))) return false;
    if (plain.startsWith('-0b') && parsesInBase2(`-${plain.slice(3)}`)) return false;
  }
  return true;
}

function isBase60Float(s: string): boolean {
  const c = s[0];
  if (c === undefined || !(c === '+' || c === '-' || (c >= '0' && c <= '9')) || !s.includes(':')) return false;
  return BASE60_FLOAT.test(s);
}

/** strconv's rule for `_` in a decimal number: only between two digits. */
function underscoresBetweenDigits(s: string): boolean {
  return !/(^|[^0-9])_|_($|[^0-9])/.test(s);
}

/** A decimal float strconv.ParseFloat accepts without a range error. */
function isGoFloat(s: string): boolean {
  return DECIMAL_FLOAT.test(s) && Number.isFinite(Number(s));
}

/** strconv.ParseInt(s, 0, 64) or strconv.ParseUint(s, 0, 64) succeeds (s has no underscores). */
function parsesAsGoInt(s: string): boolean {
  const m = /^([-+]?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (m === null) return false;
  const [, sign = '', body = ''] = m;
  const lower = body.toLowerCase();
  const n = /^0[0-7]+$/.test(lower) ? BigInt(`0o${lower.slice(1)}`) : BigInt(lower);
  if (sign === '-') return n <= INT64_MAX + 1n;
  if (sign === '+') return n <= INT64_MAX;
  return n <= UINT64_MAX;
}

/** strconv.ParseInt(s, 2, 64) succeeds. */
function parsesInBase2(s: string): boolean {
  const m = /^([-+]?)([01]+)$/.exec(s);
  if (m === null) return false;
  const n = BigInt(`0b${m[2] ?? '0'}`);
  return m[1] === '-' ? n <= INT64_MAX + 1n : n <= INT64_MAX;
}

/** go-yaml v2 reads `YYYY-…` values in these Go time layouts as timestamps. */
function looksLikeTimestamp(s: string): boolean {
  if (!/^[0-9]{4}-/.test(s)) return false;
  const date = '([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})';
  const time = '([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,][0-9]+)?';
  const zone = '(?:Z|[+-][0-9]{2}:[0-9]{2})';
  const layouts = [new RegExp(`^${date}[Tt]${time}${zone}$`), new RegExp(`^${date} ${time}$`), new RegExp(`^${date}$`)];
  for (const re of layouts) {
    const m = re.exec(s);
    if (m === null) continue;
    const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
    if (validDate(year ?? 0, month ?? 0, day ?? 0) && hour < 24 && minute < 60 && second < 60) return true;
  }
  return false;
}

function validDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  return day <= days;
}

function formatNonString(v: null | boolean | number): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  // JSON numbers that are whole (and short) come back from go-yaml as ints; the rest are
  // float64s printed with strconv.FormatFloat(f, 'g', -1, 64).
  if (Number.isInteger(v) && Math.abs(v) < 1e21) return String(v === 0 ? 0 : v);
  return goFormatFloatG(v);
}

function goFormatFloatG(v: number): string {
  const [mantissa = '0', expText = '0'] = v.toExponential().split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return String(v);
}

/**
 * go-yaml v2's map-key order: letters after non-letters, runs of digits compared as numbers
 * ("a2" < "a10"), otherwise by code point.
 */
export function goKeyCompare(a: string, b: string): number {
  if (a === b) return 0;
  return goKeyLess(a, b) ? -1 : goKeyLess(b, a) ? 1 : 0;
}

function goKeyLess(a: string, b: string): boolean {
  const ar = Array.from(a);
  const br = Array.from(b);
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const ac = ar[i] ?? '';
    const bc = br[i] ?? '';
    if (ac === bc) continue;
    const al = isLetter(ac);
    const bl = isLetter(bc);
    if (al && bl) return cp(ac) < cp(bc);
    if (al || bl) return bl;
    let an = 0n;
    let bn = 0n;
    if (ac === '0' || bc === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j] ?? ''); j--) {
        if (ar[j] !== '0') {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai] ?? ''); ai++) an = BigInt.asIntN(64, an * 10n + BigInt(cp(ar[ai] ?? '') - 48));
    let bi = i;
    for (; bi < br.length && isDigit(br[bi] ?? ''); bi++) bn = BigInt.asIntN(64, bn * 10n + BigInt(cp(br[bi] ?? '') - 48));
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return cp(ac) < cp(bc);
  }
  return ar.length < br.length;
}

function cp(c: string): number {
  return c.codePointAt(0) ?? 0;
}

function isLetter(c: string): boolean {
  if (c.length === 1 && c < '\x80') return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  return /^\p{L}$/u.test(c);
}

function isDigit(c: string): boolean {
  if (c.length === 1 && c < '\x80') return c >= '0' && c <= '9';
  return /^\p{Nd}$/u.test(c);
}

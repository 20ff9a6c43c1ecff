/**
 * DRF answers a body its JSON parser refuses with `{"detail":"JSON parse error - <Python's
 * message>"}`, e.g. `Expecting value: line 1 column 13 (char 12)`. Clients and tests compare
 * these bytes, so when JSON.parse refuses a body this module finds the error CPython's `json`
 * module (its C scanner, Python 3.11) would report, and where. It runs only on bodies that
 * already failed, so it favours being a faithful copy over speed.
 */

/** Python's JSONDecodeError: a message and the character position it is about. */
class DecodeError extends Error {
  readonly pos: number
  constructor(message: string, pos: number) {
    super(message)
    this.pos = pos
  }
}

/** Python's StopIteration from scan_once: no value starts at `pos`. */
class NoValue extends Error {
  readonly pos: number
  constructor(pos: number) {
    super('Expecting value')
    this.pos = pos
  }
}

/** DRF's STRICT_JSON refuses NaN and the infinities with a ValueError of its own. */
class OutOfRange extends Error {
  readonly constant: string
  constructor(constant: string) {
    super(`Out of range float values are not JSON compliant: '${constant}'`)
    this.constant = constant
  }
}

const isWs = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r'
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9'
const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c)

/** The text as code points: Python counts positions in characters, not UTF-16 units. */
type Chars = readonly string[]

function skipWs(s: Chars, idx: number): number {
  while (isWs(s[idx])) idx += 1
  return idx
}

function startsWith(s: Chars, idx: number, word: string): boolean {
  return s.slice(idx, idx + word.length).join('') === word
}

function scanString(s: Chars, end: number): number {
  const begin = end - 1
  for (;;) {
    let next = end
    let c: string | undefined
    for (; next < s.length; next += 1) {
      c = s[next]
      if (c === '"' || c === '\\') break
      if (c !== undefined && (c.codePointAt(0) ?? 0) <= 0x1f)
        throw new DecodeError('Invalid control character at', next)
    }
    if (next >= s.length) throw new DecodeError('Unterminated string starting at', begin)
    next += 1
    if (c === '"') return next
    if (next === s.length) throw new DecodeError('Unterminated string starting at', begin)
    const esc = s[next]
    if (esc !== 'u') {
      end = next + 1
      if (!esc || !'"\\/bfnrt'.includes(esc)) throw new DecodeError('Invalid \\escape', end - 2)
      continue
    }
    next += 1
    end = next + 4
    if (end >= s.length) throw new DecodeError('Invalid \\uXXXX escape', next - 1)
    for (; next < end; next += 1) if (!isHex(s[next])) throw new DecodeError('Invalid \\uXXXX escape', end - 5)
    const unit = parseInt(s.slice(end - 4, end).join(''), 16)
    // A high surrogate followed by `\u`: the low half is read (and checked) with it.
    if (unit >= 0xd800 && unit <= 0xdbff && end + 6 < s.length && s[end] === '\\' && s[end + 1] === 'u') {
      end += 6
      for (next = end - 4; next < end; next += 1) {
        if (!isHex(s[next])) throw new DecodeError('Invalid \\uXXXX escape', end - 5)
      }
    }
  }
}

function scanNumber(s: Chars, start: number): number {
  let idx = start
  if (s[idx] === '-') {
    idx += 1
    if (idx >= s.length) throw new NoValue(start)
  }
  if (s[idx] === '0') idx += 1
  else if (isDigit(s[idx]) && s[idx] !== '0') while (isDigit(s[idx])) idx += 1
  else throw new NoValue(start)
  if (s[idx] === '.' && isDigit(s[idx + 1])) {
    idx += 2
    while (isDigit(s[idx])) idx += 1
  }
  if (s[idx] === 'e' || s[idx] === 'E') {
    const eStart = idx
    idx += 1
    if (s[idx] === '-' || s[idx] === '+') idx += 1
    while (isDigit(s[idx])) idx += 1
    if (!isDigit(s[idx - 1])) idx = eStart
  }
  return idx
}

function scanObject(s: Chars, start: number): number {
  let idx = skipWs(s, start)
  if (s[idx] === '}') return idx + 1
  for (;;) {
    if (s[idx] !== '"') throw new DecodeError('Expecting property name enclosed in double quotes', idx)
    idx = skipWs(s, scanString(s, idx + 1))
    if (s[idx] !== ':') throw new DecodeError("Expecting ':' delimiter", idx)
    idx = skipWs(s, scanValue(s, skipWs(s, idx + 1)))
    if (s[idx] === '}') return idx + 1
    if (s[idx] !== ',') throw new DecodeError("Expecting ',' delimiter", idx)
    idx = skipWs(s, idx + 1)
  }
}

function scanArray(s: Chars, start: number): number {
  let idx = skipWs(s, start)
  if (s[idx] === ']') return idx + 1
  for (;;) {
    idx = skipWs(s, scanValue(s, idx))
    if (s[idx] === ']') return idx + 1
    if (s[idx] !== ',') throw new DecodeError("Expecting ',' delimiter", idx)
    idx = skipWs(s, idx + 1)
  }
}

function scanValue(s: Chars, idx: number): number {
  if (idx >= s.length) throw new NoValue(idx)
  const c = s[idx]
  if (c === '"') return scanString(s, idx + 1)
  if (c === '{') return scanObject(s, idx + 1)
  if (c === '[') return scanArray(s, idx + 1)
  for (const word of ['null', 'true', 'false']) if (startsWith(s, idx, word)) return idx + word.length
  for (const word of ['NaN', 'Infinity', '-Infinity']) if (startsWith(s, idx, word)) throw new OutOfRange(word)
  return scanNumber(s, idx)
}

function located(s: Chars, error: DecodeError): string {
  const before = s.slice(0, error.pos)
  const lineno = before.filter((c) => c === '\n').length + 1
  const colno = error.pos - before.lastIndexOf('\n')
  return `${error.message}: line ${lineno} column ${colno} (char ${error.pos})`
}

/**
 * What Python's `json.loads(text)` says of a text it refuses (DRF's strict constants included),
 * or undefined when Python would accept it.
 * @example pythonJsonError('{"username":') // 'Expecting value: line 1 column 13 (char 12)'
 */
export function pythonJsonError(text: string): string | undefined {
  const s = Array.from(text)
  try {
    if (s[0] === '\ufeff') throw new DecodeError('Unexpected UTF-8 BOM (decode using utf-8-sig)', 0)
    const start = skipWs(s, 0)
    let end: number
    try {
      end = skipWs(s, scanValue(s, start))
    } catch (error) {
      if (error instanceof NoValue) throw new DecodeError('Expecting value', error.pos)
      throw error
    }
    if (end !== s.length) throw new DecodeError('Extra data', end)
    return undefined
  } catch (error) {
    if (error instanceof DecodeError) return located(s, error)
    if (error instanceof OutOfRange) return error.message
    throw error
  }
}

/** A UTF-8 sequence's length and the range its second byte must fall in (Unicode table 3-7). */
function sequenceOf(lead: number): { length: number; lo: number; hi: number } | undefined {
  if (lead < 0x80) return { length: 1, lo: 0, hi: 0 }
  if (lead >= 0xc2 && lead <= 0xdf) return { length: 2, lo: 0x80, hi: 0xbf }
  if (lead === 0xe0) return { length: 3, lo: 0xa0, hi: 0xbf }
  if (lead === 0xed) return { length: 3, lo: 0x80, hi: 0x9f }
  if (lead >= 0xe1 && lead <= 0xef) return { length: 3, lo: 0x80, hi: 0xbf }
  if (lead === 0xf0) return { length: 4, lo: 0x90, hi: 0xbf }
  if (lead >= 0xf1 && lead <= 0xf3) return { length: 4, lo: 0x80, hi: 0xbf }
  if (lead === 0xf4) return { length: 4, lo: 0x80, hi: 0x8f }
  return undefined
}

function codecError(bytes: Uint8Array, range: { start: number; end: number; reason: string }): string {
  const { start, end, reason } = range
  const where =
    end - start === 1
      ? `byte 0x${(bytes[start] ?? 0).toString(16).padStart(2, '0')} in position ${start}`
      : `bytes in position ${start}-${end - 1}`
  return `'utf-8' codec can't decode ${where}: ${reason}`
}

/**
 * The body as DRF's parser reads it (Python's UTF-8 StreamReader): the text, or the
 * UnicodeDecodeError message. Like that reader, an incomplete sequence at the very end is dropped.
 * @example decodeUtf8Like(Buffer.from([0xff])) // { error: "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte" }
 */
export function decodeUtf8Like(bytes: Uint8Array): { text: string } | { error: string } {
  let i = 0
  while (i < bytes.length) {
    const lead = bytes[i] ?? 0
    const seq = sequenceOf(lead)
    if (!seq) return { error: codecError(bytes, { start: i, end: i + 1, reason: 'invalid start byte' }) }
    for (let k = 1; k < seq.length; k += 1) {
      const j = i + k
      if (j >= bytes.length) return { text: new TextDecoder().decode(bytes.subarray(0, i)) }
      const byte = bytes[j] ?? 0
      const [lo, hi] = k === 1 ? [seq.lo, seq.hi] : [0x80, 0xbf]
      if (byte < lo || byte > hi)
        return { error: codecError(bytes, { start: i, end: j, reason: 'invalid continuation byte' }) }
    }
    i += seq.length
  }
  return { text: new TextDecoder().decode(bytes) }
}

/**
 * RFC 4180 CSV, as Python's csv module and psql's `\copy … csv header` write it: fields separated
 * by commas, quoted with `"` when they hold a comma, a quote or a line break, a quote inside a
 * quoted field doubled. Records end with LF or CRLF. Each record keeps the line it starts on, so a
 * bad one can be named.
 */

export interface CsvRecord {
  /** 1-based line of the file where the record starts. */
  line: number
  fields: string[]
}

export class CsvSyntaxError extends Error {
  override readonly name = 'CsvSyntaxError'
  readonly line: number
  constructor(line: number, message: string) {
    super(message)
    this.line = line
  }
}

/**
 * @example
 * parseCsv('username,password\nalice,"pbkdf2_sha256$…"\n')
 * // [{ line: 1, fields: ['username', 'password'] }, { line: 2, fields: ['alice', 'pbkdf2_sha256$…'] }]
 */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = []
  let fields: string[] = []
  let field = ''
  let line = 1
  let start = 1
  let quoted = false
  // Whether the current field began with a quote: text may follow its closing quote only as a separator.
  let wasQuoted = false
  let i = 0
  const endField = () => {
    fields.push(field)
    field = ''
    wasQuoted = false
  }
  const endRecord = () => {
    endField()
    // A blank line is no record (Python's csv.reader skips them too).
    if (fields.length > 1 || fields[0] !== '') records.push({ line: start, fields })
    fields = []
  }
  while (i < text.length) {
    const c = text[i] as string
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"'
          i += 2
          continue
        }
        quoted = false
      } else {
        if (c === '\n') line += 1
        field += c
      }
      i += 1
      continue
    }
    if (c === '"') {
      if (field !== '' || wasQuoted) throw new CsvSyntaxError(line, 'a quote inside an unquoted field')
      quoted = true
      wasQuoted = true
    } else if (c === ',') {
      endField()
    } else if (c === '\n' || c === '\r') {
      endRecord()
      if (c === '\r' && text[i + 1] === '\n') i += 1
      line += 1
      start = line
    } else {
      if (wasQuoted) throw new CsvSyntaxError(line, 'text after the closing quote of a field')
      field += c
    }
    i += 1
  }
  if (quoted) throw new CsvSyntaxError(start, 'a quoted field is never closed')
  if (field !== '' || fields.length > 0 || wasQuoted) endRecord()
  return records
}

/**
 * A route's procedure input, read from the request as its `input` sources say; and the way back,
 * from an input key to the request field an error names.
 */
import type { RequestData } from './body.js'
import type { FieldType, Operation, Source } from './table.js'
import { snakeKey } from './table.js'

// DRF's BooleanField.TRUE_VALUES and FALSE_VALUES.
const TRUE_VALUES = new Set<unknown>([
  't',
  'T',
  'y',
  'Y',
  'yes',
  'Yes',
  'YES',
  'true',
  'True',
  'TRUE',
  'on',
  'On',
  'ON',
  '1',
  1,
])
const FALSE_VALUES = new Set<unknown>([
  'f',
  'F',
  'n',
  'N',
  'no',
  'No',
  'NO',
  'false',
  'False',
  'FALSE',
  'off',
  'Off',
  'OFF',
  '0',
  0,
])
// DRF's IntegerField takes `"12"` and `"12.0"`, not `"1.5"`.
const INTEGER_TEXT = /^\s*[-+]?\d+(\.0*)?\s*$/

/**
 * A value as DRF's field would take it; anything it would refuse is passed on unchanged, so
 * the procedure's schema refuses it with its own message.
 */
function coerce(value: unknown, type: FieldType): unknown {
  switch (type) {
    case 'string':
      // CharField accepts numbers and turns them into text.
      return typeof value === 'number' && Number.isFinite(value) ? String(value) : value
    case 'integer':
      return typeof value === 'string' && INTEGER_TEXT.test(value) ? parseInt(value, 10) : value
    case 'boolean':
      if (TRUE_VALUES.has(value)) return true
      return FALSE_VALUES.has(value) ? false : value
    case 'string[]':
      return value
  }
}

function fromFields(data: URLSearchParams | FormData, name: string, type: FieldType): unknown {
  // Files of a multipart body are not fields any route reads.
  const values = data.getAll(name).filter((value): value is string => typeof value === 'string')
  if (values.length === 0) return undefined
  // A repeated name: the last value, as Django's QueryDict gives it, or all of them for a list.
  return type === 'string[]' ? values : coerce(values.at(-1), type)
}

export interface RequestValues {
  /** The parsed body, for routes that read one. */
  body?: RequestData | undefined
  query: URLSearchParams
  params: Readonly<Record<string, string | number>>
}

function valueOf(source: Source, values: RequestValues): unknown {
  switch (source.in) {
    case 'const':
      return source.value
    case 'path':
      return values.params[source.name]
    case 'query':
      return fromFields(values.query, source.name, source.type)
    case 'body': {
      const data = values.body
      if (!data) return undefined
      if (data.kind === 'form') return fromFields(data.data, source.name, source.type)
      return Object.hasOwn(data.data, source.name) ? coerce(data.data[source.name], source.type) : undefined
    }
  }
}

/** The procedure's input; fields the request leaves out are left out (the schema says which it needs). */
export function inputFor(operation: Operation, values: RequestValues): unknown {
  if (!operation.input) return undefined
  const input: Record<string, unknown> = {}
  for (const [key, source] of Object.entries(operation.input)) {
    const value = valueOf(source, values)
    if (value !== undefined) input[key] = value
  }
  return input
}

/** Whether the route reads the request body (only then is it parsed, as DRF parses it on access). */
export function readsBody(operation: Operation): boolean {
  return Object.values(operation.input ?? {}).some((source) => source.in === 'body')
}

/** The request field an input key comes from (`isStaff` → `is_staff`), for error bodies. */
export function fieldNameOf(operation: Operation | undefined, key: string): string {
  const source = operation?.input?.[key]
  if (source && source.in !== 'const') return source.name
  return snakeKey(key)
}

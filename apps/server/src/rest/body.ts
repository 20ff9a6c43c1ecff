/**
 * Request bodies as DRF's default parsers read them: JSON, `application/x-www-form-urlencoded`
 * and `multipart/form-data`; any other media type is 415, an empty body is `{}` whatever its type.
 * The bytes come from the kit's readBody (kit/body.ts), refusals are its HttpError.
 */
import { HttpError } from '../kit/body.js'
import { decodeUtf8Like, pythonJsonError } from './python-json.js'

/** What the view reads fields from: a JSON object, or form fields (each name possibly repeated). */
export type RequestData =
  { kind: 'json'; data: Readonly<Record<string, unknown>> } | { kind: 'form'; data: URLSearchParams | FormData }

export const PARSED_MEDIA_TYPES = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data']

/** Python's name for a JSON value's type, as DRF's serializers put it in their message. */
function pythonTypeName(value: unknown, text: string): string {
  if (Array.isArray(value)) return 'list'
  if (value === null) return 'NoneType'
  if (typeof value === 'string') return 'str'
  if (typeof value === 'boolean') return 'bool'
  return /[.eE]/.test(text) ? 'float' : 'int'
}

function parseJson(raw: Buffer): RequestData {
  const decoded = decodeUtf8Like(raw)
  if ('error' in decoded) throw new HttpError(400, { detail: `JSON parse error - ${decoded.error}` })
  let value: unknown
  try {
    value = JSON.parse(decoded.text)
  } catch (error) {
    const message = pythonJsonError(decoded.text) ?? (error instanceof Error ? error.message : String(error))
    throw new HttpError(400, { detail: `JSON parse error - ${message}` })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    // DRF's serializers refuse what is not a dict; the seed's code-2 login crashed with a 500 here.
    const type = pythonTypeName(value, decoded.text)
    throw new HttpError(400, { non_field_errors: [`Invalid data. Expected a dictionary, but got ${type}.`] })
  }
  return { kind: 'json', data: value as Record<string, unknown> }
}

/**
 * The body's fields. `contentType` is the header as sent; its media type picks the parser and,
 * when none fits, is quoted whole in the 415 (`Unsupported media type "text/plain" in request.`).
 */
export async function parseBody(raw: Buffer, contentType: string | undefined): Promise<RequestData> {
  if (raw.length === 0) return { kind: 'json', data: {} }
  const mediaType = (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? ''
  switch (mediaType) {
    case 'application/json':
      return parseJson(raw)
    case 'application/x-www-form-urlencoded':
      return { kind: 'form', data: new URLSearchParams(raw.toString('utf8')) }
    case 'multipart/form-data':
      try {
        return {
          kind: 'form',
          data: await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType ?? '' } }).formData(),
        }
      } catch {
        const reason = /;\s*boundary=/i.test(contentType ?? '')
          ? 'The multipart body is malformed.'
          : 'Invalid boundary in multipart: None'
        throw new HttpError(400, { detail: `Multipart form parse error - ${reason}` })
      }
    default:
      throw new HttpError(415, { detail: `Unsupported media type "${contentType ?? ''}" in request.` })
  }
}

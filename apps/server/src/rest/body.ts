/**
 * Request bodies as DRF's default parsers read them: JSON, `application/x-www-form-urlencoded`
 * and `multipart/form-data`; any other media type is 415, an empty body is `{}` whatever its type.
 */
import type { IncomingMessage } from 'node:http'

import { decodeUtf8Like, pythonJsonError } from './python-json.js'

/** An answer the facade gives itself, before any procedure runs: a bad body (400), 413, 415. */
export class RestError extends Error {
  override readonly name = 'RestError'
  readonly status: number
  readonly body: unknown
  readonly headers: Readonly<Record<string, string>>

  constructor(status: number, body: unknown, headers: Record<string, string> = {}) {
    super(`REST ${status}`)
    this.status = status
    this.body = body
    this.headers = headers
  }
}

/** What the view reads fields from: a JSON object, or form fields (each name possibly repeated). */
export type RequestData =
  { kind: 'json'; data: Readonly<Record<string, unknown>> } | { kind: 'form'; data: URLSearchParams | FormData }

export const PARSED_MEDIA_TYPES = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data']

export function tooLarge(maxBytes: number): RestError {
  // The rest of the body is not read: the connection closes after the answer.
  return new RestError(413, { detail: `Request body is larger than ${maxBytes} bytes.` }, { connection: 'close' })
}

/** The whole body, or a 413 as soon as it passes `maxBytes`. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (req.destroyed) return reject(new Error('the client closed the request before its body ended'))
    const chunks: Buffer[] = []
    let size = 0
    const done = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onFail)
      req.off('close', onClose)
    }
    function onData(chunk: Buffer) {
      size += chunk.length
      if (size > maxBytes) {
        done()
        reject(tooLarge(maxBytes))
      } else chunks.push(chunk)
    }
    function onEnd() {
      done()
      resolve(Buffer.concat(chunks))
    }
    function onFail(error: Error) {
      done()
      reject(error)
    }
    function onClose() {
      done()
      reject(new Error('the client closed the request before its body ended'))
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onFail)
    req.on('close', onClose)
  })
}

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
  if ('error' in decoded) throw new RestError(400, { detail: `JSON parse error - ${decoded.error}` })
  let value: unknown
  try {
    value = JSON.parse(decoded.text)
  } catch (error) {
    const message = pythonJsonError(decoded.text) ?? (error instanceof Error ? error.message : String(error))
    throw new RestError(400, { detail: `JSON parse error - ${message}` })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    // DRF's serializers refuse what is not a dict; the seed's code-2 login crashed with a 500 here.
    const type = pythonTypeName(value, decoded.text)
    throw new RestError(400, { non_field_errors: [`Invalid data. Expected a dictionary, but got ${type}.`] })
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
        throw new RestError(400, { detail: `Multipart form parse error - ${reason}` })
      }
    default:
      throw new RestError(415, { detail: `Unsupported media type "${contentType ?? ''}" in request.` })
  }
}

/**
 * Request bodies, read whole and bounded: the one reader /api (rest/), /oauth and the lean /trpc
 * layer share. What the bytes mean (DRF's parsers, a form, tRPC's JSON input) is each edge's own.
 */
import type { IncomingMessage } from 'node:http'

/**
 * An answer the edge gives itself before any procedure runs: a body too large (413), one that
 * does not parse (400) or of a type nobody reads (415). `body` is the JSON sent, in DRF's words.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError'
  readonly status: number
  readonly body: unknown
  readonly headers: Readonly<Record<string, string>>

  constructor(status: number, body: unknown, headers: Record<string, string> = {}) {
    super(`HTTP ${status}`)
    this.status = status
    this.body = body
    this.headers = headers
  }
}

/** The 413's words, on /api (`detail`) and on /trpc (the error's message) alike. */
export function tooLargeMessage(maxBytes: number): string {
  return `Request body is larger than ${maxBytes} bytes.`
}

export function bodyTooLarge(maxBytes: number): HttpError {
  // The rest of the body is not read: the connection closes after the answer.
  return new HttpError(413, { detail: tooLargeMessage(maxBytes) }, { connection: 'close' })
}

const CLOSED = 'The client closed the request before its body ended'

/**
 * The whole body, refused with `tooLarge(maxBytes)` as soon as it passes `maxBytes` (unbounded
 * when unset). Past the limit nothing more is kept: the request stays flowing, so what the client
 * still sends is drained unread while the refusal is answered.
 */
export function readBody(
  req: IncomingMessage,
  maxBytes: number | undefined,
  tooLarge: (maxBytes: number) => Error = bodyTooLarge,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // A request already gone would never emit `end` or `close` again.
    if (req.destroyed) return reject(new Error(CLOSED))
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
      if (maxBytes === undefined || size <= maxBytes) return void chunks.push(chunk)
      done()
      req.resume()
      reject(tooLarge(maxBytes))
    }
    function onEnd() {
      done()
      // One chunk, the usual case, is the body as it is; no copy.
      resolve(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks))
    }
    function onFail(error: unknown) {
      done()
      reject(error instanceof Error ? error : new Error('The request body could not be read'))
    }
    function onClose() {
      onFail(new Error(CLOSED))
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onFail)
    req.on('close', onClose)
  })
}

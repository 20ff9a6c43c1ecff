/**
 * The baseline: a bare node:http JSON endpoint, the ceiling any Node HTTP service on this machine
 * can reach. It answers every request with the body `content.protected` returns, so both move the
 * same bytes.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

const BODY = JSON.stringify({ result: { data: { message: 'This is a protected view' } } })
const HEADERS = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) }

const server = createServer((_req, res) => {
  res.writeHead(200, HEADERS)
  res.end(BODY)
})

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  console.log(`baseline: listening on http://127.0.0.1:${port}`)
})

const parent = process.ppid
// If the bench dies without stopping us, nobody else will: leave when the parent is gone.
setInterval(() => {
  if (process.ppid !== parent) process.exit(0)
}, 500).unref()
process.on('SIGTERM', () => server.close(() => process.exit(0)))
process.on('SIGINT', () => server.close(() => process.exit(0)))

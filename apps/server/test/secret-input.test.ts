/**
 * @see issue 16, item 12: the CLI took passwords only on argv, where `ps` shows them to every
 * local user. It now reads them from a no-echo prompt or from stdin.
 */
import { PassThrough } from 'node:stream'

import { describe, expect, it } from 'vitest'

import { readPassword } from '../src/cli/secret-input.js'

/** A terminal: raw mode recorded, keystrokes written by the test. */
function terminal() {
  const input = Object.assign(new PassThrough(), { isTTY: true, modes: [] as boolean[] })
  const terminalInput = Object.assign(input, { setRawMode: (raw: boolean) => input.modes.push(raw) })
  const output = new PassThrough()
  let shown = ''
  output.on('data', (chunk: Buffer) => (shown += chunk.toString()))
  return { input: terminalInput, output, shown: () => shown }
}

describe('CLI password input', () => {
  it('reads the first line of a piped stdin', async () => {
    const input = new PassThrough()
    input.end('An0ther-passphrase\nignored\n')
    await expect(readPassword(input, new PassThrough())).resolves.toBe('An0ther-passphrase')
    const crlf = new PassThrough()
    crlf.end('Pass w0rd with spaces\r\n')
    await expect(readPassword(crlf, new PassThrough())).resolves.toBe('Pass w0rd with spaces')
  })

  it('refuses an empty stdin', async () => {
    const input = new PassThrough()
    input.end()
    await expect(readPassword(input, new PassThrough())).rejects.toThrow('no password on stdin')
  })

  it('asks twice at a terminal with echo off, and never shows what was typed', async () => {
    const t = terminal()
    const answer = readPassword(t.input, t.output)
    t.input.write('S3cret-pa')
    t.input.write('x\u007fss\r')
    await new Promise((r) => setImmediate(r))
    t.input.write('S3cret-pass\r')
    await expect(answer).resolves.toBe('S3cret-pass')
    expect(t.shown()).toBe('Password: \nPassword (again): \n')
    expect(t.input.modes).toEqual([true, false, true, false])
  })

  it('refuses two different entries, and a cancelled prompt', async () => {
    const t = terminal()
    const answer = readPassword(t.input, t.output)
    t.input.write('S3cret-pass\r')
    await new Promise((r) => setImmediate(r))
    t.input.write('S3cret-typo\r')
    await expect(answer).rejects.toThrow("your passwords didn't match")
    const c = terminal()
    const cancelled = readPassword(c.input, c.output)
    c.input.write('abc\u0003')
    await expect(cancelled).rejects.toThrow('cancelled')
    expect(c.input.modes).toEqual([true, false])
  })
})

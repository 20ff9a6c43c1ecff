/**
 * Passwords for the CLI without putting them on the command line, where every local user can
 * read them in `ps` and shell history keeps them: typed at a prompt that does not echo (asked
 * twice, as Django's createsuperuser does), or piped on stdin for scripts (the first line).
 */
import type { Readable, Writable } from 'node:stream'

/** A terminal stdin: raw mode turns echo off. */
interface TerminalInput extends Readable {
  isTTY?: boolean
  setRawMode?: (raw: boolean) => unknown
}

const ENTER = new Set(['\r', '\n'])
const BACKSPACE = new Set(['\u007f', '\b'])
const INTERRUPT = new Set(['\u0003', '\u0004']) // Ctrl-C, Ctrl-D

export class SecretInputError extends Error {
  override readonly name = 'SecretInputError'
}

/** The first line of a piped stdin (without its line ending); '' when stdin is empty. */
async function firstLine(input: Readable): Promise<string> {
  let text = ''
  for await (const chunk of input) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8')
    if (/\r?\n/.test(text)) break
  }
  return text.split(/\r?\n/, 1)[0] ?? ''
}

/** One line typed at the terminal with echo off. Ctrl-C or Ctrl-D aborts. */
function typed(input: TerminalInput, output: Writable, prompt: string): Promise<string> {
  output.write(prompt)
  input.setRawMode?.(true)
  input.resume()
  return new Promise((resolve, reject) => {
    let value = ''
    const done = (error?: Error) => {
      input.off('data', onData)
      input.setRawMode?.(false)
      input.pause()
      output.write('\n')
      if (error) reject(error)
      else resolve(value)
    }
    const onData = (chunk: Buffer | string) => {
      for (const char of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ENTER.has(char)) return done()
        if (INTERRUPT.has(char)) return done(new SecretInputError('cancelled'))
        if (BACKSPACE.has(char)) value = value.slice(0, -1)
        else value += char
      }
    }
    input.on('data', onData)
  })
}

/**
 * The password for a command that was not given `--password`: asked twice at a terminal (no
 * echo), or read from the first line of a piped stdin. Throws SecretInputError when there is
 * nothing to read or the two entries differ.
 *
 * @example
 * const password = await readPassword(process.stdin, process.stderr)
 */
export async function readPassword(input: TerminalInput, output: Writable): Promise<string> {
  if (!input.isTTY) {
    const line = await firstLine(input)
    if (!line) throw new SecretInputError('no password on stdin')
    return line
  }
  const first = await typed(input, output, 'Password: ')
  if (!first) throw new SecretInputError('the password is empty')
  const second = await typed(input, output, 'Password (again): ')
  if (first !== second) throw new SecretInputError("your passwords didn't match")
  return first
}

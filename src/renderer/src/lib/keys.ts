// Keyboard mapping, as pure functions: the labelling view and the replay player turn a
// KeyboardEvent into an action; the legend and the help overlay list the same shortcuts.
import type { TaskConfig } from '../../../shared/contract'

export type LabelAction = 'positive' | 'negative' | 'undo' | 'skip' | 'help' | 'guess' | 'mistakes' | 'browse' | 'why' | 'history' | 'close'
export type PlayerAction = 'toggle' | 'back' | 'forward' | 'first' | 'last' | 'help' | 'close'

export interface KeyLike {
  key: string
  ctrlKey?: boolean
  metaKey?: boolean
  altKey?: boolean
  shiftKey?: boolean
}

type Keys = Pick<TaskConfig, 'negative' | 'positive'>

const norm = (k: string): string => (k.length === 1 ? k.toLowerCase() : k)

export function labelAction(e: KeyLike, task: Keys): LabelAction | null {
  const k = norm(e.key)
  if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && k === 'z') return 'undo'
  if (e.ctrlKey || e.metaKey || e.altKey) return null
  if (k === 'Escape') return 'close'
  if (k === '?') return 'help'
  if (k === norm(task.positive.key)) return 'positive'
  if (k === norm(task.negative.key)) return 'negative'
  if (k === 'ArrowRight' || k === '1') return 'positive'
  if (k === 'ArrowLeft' || k === '0') return 'negative'
  if (k === 'Backspace') return 'undo'
  if (k === 's') return 'skip'
  if (k === 'g') return 'guess'
  // After the task's own keys, which win when a task uses these letters.
  if (k === 'm') return 'mistakes'
  if (k === 'b') return 'browse'
  if (k === 'w') return 'why'
  if (k === 'h') return 'history'
  return null
}

export function playerAction(e: KeyLike): PlayerAction | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null
  switch (e.key) {
    case ' ':
    case 'Spacebar':
      return 'toggle'
    case 'ArrowLeft':
      return 'back'
    case 'ArrowRight':
      return 'forward'
    case 'Home':
      return 'first'
    case 'End':
      return 'last'
    case '?':
      return 'help'
    case 'Escape':
      return 'close'
    default:
      return null
  }
}

/**
 * Where a list's cursor goes on a navigation key, or null for any other key: arrows (left and
 * right only in a grid of several columns), Page Up/Down by `page` items, Home, End.
 */
export function cursorMove(key: string, at: number, count: number, columns: number, page: number): number | null {
  const moves: Record<string, number> = { ArrowDown: columns, ArrowUp: -columns, PageDown: page, PageUp: -page }
  if (columns > 1) Object.assign(moves, { ArrowRight: 1, ArrowLeft: -1 })
  const to = key in moves ? at + moves[key] : key === 'Home' ? 0 : key === 'End' ? count - 1 : null
  return to === null ? null : Math.max(0, Math.min(count - 1, to))
}

/** What a key does in a list of images that can be answered (history panel, pool browser). */
export type ListKey = { move: number } | { close: true } | { answer: 0 | 1 } | null

export function listKey(e: KeyLike, task: Keys, at: number, count: number, columns: number, page: number): ListKey {
  const move = cursorMove(e.key, at, count, columns, page)
  if (move !== null) return { move }
  if (e.key === 'Escape') return { close: true }
  const action = labelAction(e, task)
  return action === 'positive' || action === 'negative' ? { answer: action === 'positive' ? 1 : 0 } : null
}

/** Keys typed into form fields are theirs, not shortcuts. */
export function isTypingTarget(t: EventTarget | null): boolean {
  const el = t as (HTMLElement & { type?: string }) | null
  if (!el || typeof el.tagName !== 'string') return false
  const tag = el.tagName.toUpperCase()
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true
  if (tag === 'INPUT') return true
  return el.isContentEditable === true || el.getAttribute?.('contenteditable') === 'true'
}

/** Space and Enter on a focused button or link belong to that control. */
export function isActivationOnControl(e: KeyLike & { target: EventTarget | null }): boolean {
  if (e.key !== ' ' && e.key !== 'Enter') return false
  const el = e.target as HTMLElement | null
  const tag = typeof el?.tagName === 'string' ? el.tagName.toUpperCase() : ''
  return tag === 'BUTTON' || tag === 'A' || el?.getAttribute?.('role') === 'button'
}

export const isMac = (): boolean =>
  typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent || '')

export interface Shortcut {
  keys: string[]
  what: string
}

export const displayKey = (k: string): string => (k.length === 1 ? k.toUpperCase() : k)

export function labelShortcuts(task: Keys, mac = isMac()): Shortcut[] {
  return [
    { keys: [displayKey(task.positive.key), '→', '1'], what: task.positive.name },
    { keys: [displayKey(task.negative.key), '←', '0'], what: task.negative.name },
    { keys: ['S'], what: 'skip' },
    { keys: ['⌫', mac ? '⌘Z' : 'Ctrl+Z'], what: 'undo' },
    { keys: ['G'], what: 'show / hide the model’s guesses' },
    { keys: ['M'], what: 'mistakes view (held-out confusion matrix, per class)' },
    { keys: ['B'], what: 'pool browser: label any image you choose' },
    { keys: ['W'], what: 'why the last answered image was asked (only once answered)' },
    { keys: ['H'], what: 'history: every answer, newest first; change any of them' },
    { keys: ['?'], what: 'this help' },
    { keys: ['Esc'], what: 'close help' }
  ]
}

export const PLAYER_SHORTCUTS: Shortcut[] = [
  { keys: ['Space'], what: 'play / pause' },
  { keys: ['←', '→'], what: 'step back / forward' },
  { keys: ['Home', 'End'], what: 'first / last step' },
  { keys: ['?'], what: 'this help' }
]

/** The history panel: move through the answers, change the one under the cursor, filter. */
export function historyShortcuts(task: Keys): Shortcut[] {
  return [
    { keys: ['↑', '↓', 'PageUp', 'PageDown', 'Home', 'End'], what: 'move' },
    { keys: [displayKey(task.positive.key), '→', '1'], what: `change to ${task.positive.name}` },
    { keys: [displayKey(task.negative.key), '←', '0'], what: `change to ${task.negative.name}` },
    { keys: ['F'], what: 'next filter: all, in doubt, by answer' },
    { keys: ['Esc'], what: 'close' }
  ]
}

/** "Why this image": step through the answered images. */
export const WHY_SHORTCUTS: Shortcut[] = [
  { keys: ['←', '→'], what: 'the image answered before / after' },
  { keys: ['Esc'], what: 'close' }
]

/** The mistakes view: 1-4 open the confusion cells (true negative, false positive, false negative, true positive). */
export const MISTAKES_SHORTCUTS: Shortcut[] = [
  { keys: ['1', '2', '3', '4'], what: 'open a confusion cell (TN, FP, FN, TP)' },
  { keys: ['Tab', 'Enter'], what: 'any cell or class' },
  { keys: ['Esc'], what: 'close the images, then the view' }
]

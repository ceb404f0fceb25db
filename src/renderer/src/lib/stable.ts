// Every pushed session state is a whole new object graph, though most of it is what was already
// on screen. A stable computed keeps its previous value while the new one is the same, so what
// reads it (a chart, the status bar) re-renders only when it really changed.
import { computed, type ComputedRef } from 'vue'

export function stableComputed<T>(get: () => T, same: (a: T, b: T) => boolean): ComputedRef<T> {
  return computed<T>((previous) => {
    const next = get()
    return previous !== undefined && same(previous, next) ? previous : next
  })
}

/** Same length and the same items by `same` (by value for strings and numbers). */
export function sameList<T>(a: readonly T[], b: readonly T[], same: (x: T, y: T) => boolean = Object.is): boolean {
  return a === b || (a.length === b.length && a.every((x, i) => same(x, b[i])))
}

/** Same plain data (small objects only: it compares their JSON). */
export const sameJson = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b)

// The events of session.jsonl: one JSON object per line, each with the format version `v`,
// a `type` and an ISO timestamp `at`. Their schemas (strict for writing, tolerant of old logs
// for reading) live in src/shared/schema.ts; every line is checked before a session is rebuilt from it.
import { parseEvent, type SessionEvent } from '../../shared/schema'

export { FORMAT_VERSION } from '../../shared/schema'
export type {
  EventType,
  LabelEvent,
  QueryEvent,
  RelabelEvent,
  RemapEvent,
  SessionEvent,
  SkipEvent,
  StartEvent,
  TrainEvent,
  UndoEvent
} from '../../shared/schema'

let lastTime = 0
/**
 * The `at` of a new event: the wall clock, but strictly increasing, so no two events of a
 * session are ever byte-identical (the reader drops exact duplicate lines as damage).
 */
export function eventTime(): string {
  lastTime = Math.max(Date.now(), lastTime + 1)
  return new Date(lastTime).toISOString()
}

/** Returns the event as the strict schema parses it, or throws a SchemaError naming the first bad field. */
export const validateEvent = (x: unknown): SessionEvent => parseEvent(x)

/** As the log reader checks a line read from disk: the strict schema plus what old logs need. */
export const validateLoggedEvent = (x: unknown): SessionEvent => parseEvent(x, true)

// One TensorBoard event file, appended record by record as a run goes, so `tensorboard
// --logdir` shows it live. Sync writes: records are small and the file stays consistent.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { encodeEvent, EventMessage, HistogramProto, SummaryValue } from './proto'
import { encodePng } from './png'
import { frameRecord } from './record'

/** The folder, inside a session or pretrain folder, that holds the event files. */
export const TENSORBOARD_DIR = 'tensorboard'

export const FILE_VERSION = 'brain.Event:2'
export const EVENT_FILE_PREFIX = 'events.out.tfevents.'

/** Seconds since the epoch, as TensorBoard's wall_time; from an ISO time when given. */
export const wallTime = (at?: string): number => (at ? Date.parse(at) : Date.now()) / 1000

export interface RawImage {
  width: number
  height: number
  channels: number
  pixels: Uint8Array
}

export class EventWriter {
  readonly path: string
  private fd: number | null = null
  private readonly sink: (record: Uint8Array) => void
  private closed = false

  /**
   * Creates `dir` and a new event file in it, starting with the file-version record. With a
   * `sink`, the records go there instead and nothing is written: the caller writes the file.
   */
  constructor(dir: string, opts: { wallTime?: number; name?: string; sink?: (record: Uint8Array) => void } = {}) {
    const time = opts.wallTime ?? wallTime()
    // TensorBoard reads the files of a folder in name order: the time keeps them in run order.
    this.path = join(dir, `${EVENT_FILE_PREFIX}${Math.floor(time)}.${opts.name ?? `${hostname()}.${process.pid}`}.curator`)
    if (opts.sink) this.sink = opts.sink
    else {
      mkdirSync(dir, { recursive: true })
      const fd = openSync(this.path, 'a')
      this.sink = (record) => writeSync(fd, record)
      this.fd = fd
    }
    this.write({ wallTime: time, fileVersion: FILE_VERSION })
  }

  scalar(tag: string, step: number, value: number, time = wallTime()): void {
    this.summary(step, time, { tag, simpleValue: value })
  }

  histogram(tag: string, step: number, histo: HistogramProto, time = wallTime()): void {
    this.summary(step, time, { tag, histo })
  }

  image(tag: string, step: number, img: RawImage, time = wallTime()): void {
    const encodedImageString = encodePng(img.width, img.height, img.channels, img.pixels)
    this.summary(step, time, { tag, image: { width: img.width, height: img.height, colorspace: img.channels, encodedImageString } })
  }

  /** Several values in one event (one record). */
  summary(step: number, time: number, ...value: SummaryValue[]): void {
    this.write({ wallTime: time, step, summary: { value } })
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd)
    this.fd = null
    this.closed = true
  }

  private write(e: EventMessage): void {
    if (this.closed) throw new Error(`The event file ${this.path} is closed`)
    this.sink(frameRecord(encodeEvent(e)))
  }
}

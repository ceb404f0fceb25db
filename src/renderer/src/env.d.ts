/// <reference types="vite/client" />
import type { StudioBridge } from '../../shared/contract'
import type { PaintParts } from './lib/perf'

declare global {
  interface Window {
    /** Exposed by the Electron preload (contextBridge); absent in browser mode. */
    studio?: StudioBridge
    /** Key press -> next image painted, in ms, one entry per answered key (read by the e2e benchmark). */
    __curatorPaints?: number[]
    /** The parts of each of those (see lib/perf.ts). */
    __curatorPaintParts?: PaintParts[]
  }
}

export {}

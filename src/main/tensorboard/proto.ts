// The few TensorBoard protobuf messages Curator writes (Event, Summary, HistogramProto), with
// the field numbers of tensorboard/compat/proto/{event,summary,histogram}.proto. Only the
// fields we set are declared; tests decode our files with TensorBoard's own .proto files.
import protobuf from 'protobufjs'

const root = protobuf.Root.fromJSON({
  nested: {
    tensorboard: {
      nested: {
        Event: {
          oneofs: { what: { oneof: ['fileVersion', 'summary'] } },
          fields: {
            wallTime: { type: 'double', id: 1 },
            step: { type: 'int64', id: 2 },
            fileVersion: { type: 'string', id: 3 },
            summary: { type: 'Summary', id: 5 }
          }
        },
        Summary: {
          fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
          nested: {
            Image: {
              fields: {
                height: { type: 'int32', id: 1 },
                width: { type: 'int32', id: 2 },
                colorspace: { type: 'int32', id: 3 },
                encodedImageString: { type: 'bytes', id: 4 }
              }
            },
            Value: {
              oneofs: { value: { oneof: ['simpleValue', 'image', 'histo'] } },
              fields: {
                tag: { type: 'string', id: 1 },
                simpleValue: { type: 'float', id: 2 },
                image: { type: 'Image', id: 4 },
                histo: { type: 'HistogramProto', id: 5 }
              }
            }
          }
        },
        HistogramProto: {
          fields: {
            min: { type: 'double', id: 1 },
            max: { type: 'double', id: 2 },
            num: { type: 'double', id: 3 },
            sum: { type: 'double', id: 4 },
            sumSquares: { type: 'double', id: 5 },
            bucketLimit: { rule: 'repeated', type: 'double', id: 6, options: { packed: true } },
            bucket: { rule: 'repeated', type: 'double', id: 7, options: { packed: true } }
          }
        }
      }
    }
  }
})

const EventType = root.lookupType('tensorboard.Event')

export interface HistogramProto {
  min: number
  max: number
  num: number
  sum: number
  sumSquares: number
  /** The right edge of each bucket; the first bucket starts at `min`. */
  bucketLimit: number[]
  bucket: number[]
}

export interface ImageProto {
  height: number
  width: number
  /** 1 grey, 3 RGB, 4 RGBA. */
  colorspace: number
  encodedImageString: Uint8Array
}

export type SummaryValue = { tag: string } & ({ simpleValue: number } | { histo: HistogramProto } | { image: ImageProto })

export type EventMessage = { wallTime: number; step?: number } & ({ fileVersion: string } | { summary: { value: SummaryValue[] } })

export function encodeEvent(e: EventMessage): Uint8Array {
  return EventType.encode(EventType.fromObject(e)).finish()
}

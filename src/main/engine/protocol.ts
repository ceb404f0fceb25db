// The messages between the studio (main thread) and the engine thread.
import type { InputSpec } from '../../shared/base-spec'
import type {
  BaselinePoint,
  ImageItem,
  LabelValue,
  MistakeCell,
  MistakesDto,
  PoolItem,
  PoolPage,
  PoolQuery,
  Reply,
  SessionConfig,
  WhyReason
} from '../../shared/contract'
import type { Progress } from '../../shared/progress'
import type { Answer } from './learner'
import type { IterationRecord } from './loop'
import type { FeaturizerName } from './featurizer'
import type { TrainerName } from './parallel-train'
import type { AskedImage } from './why'

export interface OpenedSession {
  backend: string
  poolSize: number
  testSize: number
  dataset: { id: string; hash: string; classNames: string[] | null }
  base: { id: string; hash: string; classNames: string[]; testAccuracy: number | null; dir: string; featureLayer: string; input: InputSpec }
  featuresCached: boolean
  /** The engine that computed the frozen features. */
  features: FeaturizerName
  /** What trains the suffix with Adam (null: the exact head). */
  trainer: TrainerName | null
  /** The exact head's rules the session runs on (see TRUST_RULES). */
  trust: number
  openMs: number
  /** Files of a dataset folder that could not be used, with why. */
  skipped: { path: string; reason: string }[]
}

export type ImageDto = ImageItem

export interface PretrainRequest {
  epochs: number
  seed: number
  /** Train (and test) on the first N MNIST images only: quick runs. */
  limit?: number
  /** The new base goes to <dataDir>/models/mnist-cnn-<timestamp>. */
  dataDir: string
}

export interface PretrainedBase {
  dir: string
  testAccuracy: number
  hash: string
}

/** Why an image was asked: the rule, the image, P under the fit on the standing batches, and its nearest labelled images. */
export interface WhyResult {
  reason: WhyReason
  image: ImageDto
  pNow: number
  nearest: (ImageDto & { value: LabelValue; distance: number })[]
}

/** Every engine method: arguments and result. */
export interface EngineMethods {
  backend(): Promise<{ name: string; notice: string | null }>
  /** featurizer: the one a resumed session was recorded with (default: the fastest here). */
  open(
    config: SessionConfig,
    cacheDir?: string,
    baseDir?: string,
    featurizer?: FeaturizerName,
    trainer?: TrainerName,
    trust?: number
  ): Promise<OpenedSession>
  iterate(batches: Answer[][], skipped: number[]): Promise<IterationRecord>
  images(ids: number[], of?: SessionConfig): Promise<ImageDto[]>
  baseline(counts: number[], of?: { config: SessionConfig; baseDir?: string }): Promise<BaselinePoint[]>
  mistakes(
    batches: Answer[][],
    at: { iteration: number; labels: number },
    cell: MistakeCell | null,
    limit: number
  ): Promise<MistakesDto | null>
  pool(batches: Answer[][], answers: [number, PoolItem['answer']][], q: PoolQuery): Promise<PoolPage>
  chosen(batches: Answer[][], ids: number[]): Promise<{ p: number[]; keys?: string[] }>
  /** `batches`: the standing fit's; `labelled`: every label given (the neighbours come from these). */
  why(id: number, asked: Omit<AskedImage, 'coldStartBatches'>, batches: Answer[][], labelled: Answer[], k: number): Promise<WhyResult>
  /** Where the open dataset holds images with these file keys: a pool id, or null with why not. */
  locate(keys: string[]): Promise<({ id: number } | { id: null; reason: string })[]>
  /** The committed head only: fitted on `batches`, never a prefetch's speculative weights. */
  exportModel(dir: string, batches: Answer[][]): Promise<{ files: string[] }>
  /** Trains a new base digit CNN on MNIST (progress task 'pretrain', cancellable) and writes it. */
  pretrain(options: PretrainRequest): Promise<PretrainedBase>
  close(): void
}

export type EngineRequest = {
  [M in keyof EngineMethods]: { id: number; method: M; args: Parameters<EngineMethods[M]> }
}[keyof EngineMethods]
export type EngineReply = ({ id: number } & Reply) | { progress: Progress }

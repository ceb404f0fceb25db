// The helper thread of wide-logits.ts: scores chunks of a big matrix's logits claimed from the
// thread it helps, over that thread's shared WebAssembly memory. Below normal priority: the
// thread it helps claims whatever this one has not taken, so a busy core costs no more than alone.
import { helpWith, type HelperMessage } from './wide-logits'
import { onParentMessage, runInBackground } from './threads'

runInBackground()
onParentMessage<HelperMessage>(helpWith())

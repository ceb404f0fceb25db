import { onBeforeUnmount, ref, watch, type Ref } from 'vue'

/** The content-box size of an element, kept current with a ResizeObserver (0 x 0 where there is none). */
export function useElementSize(el: Ref<HTMLElement | null>): { width: Ref<number>; height: Ref<number> } {
  const width = ref(0)
  const height = ref(0)
  let observer: ResizeObserver | null = null
  watch(
    el,
    (node) => {
      observer?.disconnect()
      observer = null
      if (!node || typeof ResizeObserver === 'undefined') return
      observer = new ResizeObserver((entries) => {
        const r = entries[entries.length - 1]?.contentRect
        if (!r) return
        width.value = Math.round(r.width)
        height.value = Math.round(r.height)
      })
      observer.observe(node)
    },
    { flush: 'post', immediate: true }
  )
  onBeforeUnmount(() => observer?.disconnect())
  return { width, height }
}

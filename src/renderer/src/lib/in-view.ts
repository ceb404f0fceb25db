// Whether an element is wholly in view, kept current by one IntersectionObserver (computed with
// each frame's layout, off the main thread's critical path). bringIntoView() scrolls only an
// element that is not: scrollIntoView() forces a style and layout pass in the key's handler
// (1.2-1.4 ms a key on the loaded 2-core machine) even when there is nothing to scroll.

const wholly = new WeakMap<Element, boolean>()
let observer: IntersectionObserver | null = null

function theObserver(): IntersectionObserver | null {
  if (!observer && typeof IntersectionObserver !== 'undefined') {
    observer = new IntersectionObserver(
      (entries) => {
        for (const e of entries) wholly.set(e.target, e.isIntersecting && e.intersectionRatio >= 0.99)
      },
      { threshold: [0, 0.99] }
    )
  }
  return observer
}

/** Starts tracking an element; returns the function that stops. */
export function trackInView(el: Element): () => void {
  const o = theObserver()
  o?.observe(el)
  return () => {
    o?.unobserve(el)
    wholly.delete(el)
  }
}

/** Scrolls the nearest scroller so the element is wholly in view, unless it is known to be already. */
export function bringIntoView(el: Element): void {
  if (wholly.get(el) === true) return
  el.scrollIntoView?.({ block: 'nearest', inline: 'nearest' })
}

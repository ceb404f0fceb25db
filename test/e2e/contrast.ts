// An axe-style color-contrast check (WCAG 2.1 AA, 1.4.3) run inside the page: every visible
// text node's color against the background composited from its ancestors. Text on an image or
// gradient cannot be computed and is listed apart (axe calls it "incomplete"); disabled
// controls are exempt, as in WCAG.
import type { Page } from 'playwright-core'

export interface ContrastFailure {
  text: string
  ratio: number
  required: number
  color: string
  background: string
  selector: string
}

// A string, not a function: the test runner's transforms would not exist in the page.
const SCRIPT = `(() => {
  const parse = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c)
    if (!m) return null
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number)
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }
  }
  const over = (top, bottom) => {
    const a = top.a + bottom.a * (1 - top.a)
    if (a === 0) return { r: 0, g: 0, b: 0, a: 0 }
    const mix = (k) => (top[k] * top.a + bottom[k] * bottom.a * (1 - top.a)) / a
    return { r: mix('r'), g: mix('g'), b: mix('b'), a }
  }
  const lum = (c) => {
    const ch = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4) }
    return 0.2126 * ch(c.r) + 0.7152 * ch(c.g) + 0.0722 * ch(c.b)
  }
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05) }
  const path = (el) => { const parts = []; for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement) parts.unshift(e.tagName.toLowerCase() + (e.dataset.testid ? '[data-testid=' + e.dataset.testid + ']' : e.classList.length ? '.' + [...e.classList].join('.') : '')); return parts.join(' > ') }
  const failures = [], incomplete = []
  let checked = 0
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
  const seen = new Set()
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue
    const el = n.parentElement
    if (!el || seen.has(el)) continue
    seen.add(el)
    const rect = el.getBoundingClientRect()
    if (rect.width === 0 || rect.height === 0) continue
    const cs = getComputedStyle(el)
    if (cs.visibility === 'hidden' || cs.display === 'none') continue
    if (el.closest('[aria-hidden="true"], .sr-only, svg')) continue
    if (el.closest(':disabled, [aria-disabled="true"]')) continue
    let fg = parse(cs.color)
    let opacity = 1
    let bg = { r: 0, g: 0, b: 0, a: 0 }
    let unknown = false
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e)
      opacity *= Number(s.opacity)
      if (s.backgroundImage && s.backgroundImage !== 'none') { unknown = true; break }
      if (e.tagName === 'CANVAS' || e.tagName === 'IMG') { unknown = true; break }
      const b = parse(s.backgroundColor)
      if (b && b.a > 0) { bg = over(bg, b); if (bg.a >= 0.999) break }
    }
    if (opacity === 0) continue
    const text = n.textContent.trim().slice(0, 40)
    if (unknown) { incomplete.push({ text, selector: path(el) }); continue }
    bg = over(bg, { r: 255, g: 255, b: 255, a: 1 })
    fg = over({ ...fg, a: fg.a * opacity }, bg)
    const size = parseFloat(cs.fontSize), bold = Number(cs.fontWeight) >= 700
    const required = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5
    const r = ratio(fg, bg)
    checked++
    if (r < required - 0.005) failures.push({ text, ratio: Math.round(r * 100) / 100, required, color: cs.color, background: 'rgb(' + [bg.r, bg.g, bg.b].map(Math.round).join(', ') + ')', selector: path(el) })
  }
  return { checked, failures, incomplete }
})()`

export async function contrastFailures(
  page: Page
): Promise<{ checked: number; failures: ContrastFailure[]; incomplete: { text: string; selector: string }[] }> {
  return page.evaluate(SCRIPT)
}

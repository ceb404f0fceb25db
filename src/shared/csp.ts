// The renderer's Content-Security-Policy, sent as a response header wherever the built page is
// served: the desktop app's curator:// scheme (IPC, so no WebSocket source at all), browser mode
// (its own WebSocket only) and the development server. A header, not a <meta> tag, so that
// frame-ancestors holds too (a meta tag cannot set it).

/** The policy; `connect` adds the WebSocket origins the page may open (browser mode, dev server). */
export function contentSecurityPolicy(connect: readonly string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    // Vue's :style bindings are style attributes.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    `connect-src ${["'self'", ...connect].join(' ')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join('; ')
}

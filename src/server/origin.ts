/**
 * Browsers send Origin; other clients (the CLI, curl) do not, and are let through (they cannot
 * be used for cross-site attacks). A browser page may connect when it comes from this server
 * itself (same host) or from an origin listed in fraisier.allowed_origins.
 */
export function isAllowedOrigin(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (!origin) return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  try {
    const url = new URL(origin);
    return host !== undefined && url.host === host;
  } catch {
    return false;
  }
}

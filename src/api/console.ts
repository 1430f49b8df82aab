// The operator console: plain static files from web/ (no build step), served at `/`.
// The page talks to the API over HTTP only (cookie session + one-use CSRF keys), like any client.
import path from 'node:path';
import express, { type Router } from 'express';

/** Where index.html, style.css and the ES modules (app.js, lib.js, …) live. */
export const WEB_DIR = path.resolve(__dirname, '..', '..', 'web');

/**
 * Serves web/ at the root. File names carry no content hash, so every response is
 * `Cache-Control: no-cache`: browsers keep a copy but revalidate it (ETag / Last-Modified → 304),
 * so a new release is picked up on the next load. /api/** never reaches the files.
 */
export function consoleRouter(webDir: string = WEB_DIR): Router {
  const router = express.Router();
  const files = express.static(webDir, {
    index: 'index.html',
    dotfiles: 'ignore',
    redirect: false,
    fallthrough: true,
    etag: true,
    lastModified: true,
    setHeaders: (res) => {
      res.setHeader('Cache-Control', 'no-cache');
    },
  });
  router.use((req, res, next) => {
    if (req.path === '/api' || req.path.startsWith('/api/')) {
      next();
      return;
    }
    files(req, res, next);
  });
  return router;
}

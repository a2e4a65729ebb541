package api

import (
	"embed"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// The console: a browser UI for analysts and operators, served by the same
// binary under /console/ (and / redirects there). It is plain HTML, CSS and
// ES modules with hand-built SVG charts, embedded here, so `make run` needs
// nothing else and no request leaves the machine. It talks to the server
// through the public HTTP API only.
//
//go:embed console
var consoleFiles embed.FS

// consolePolicy keeps every request the page makes on this origin (no CDN,
// no inline script).
const consolePolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// isConsolePath reports whether p is served by the console rather than the
// API (the contract test leaves these HTML and asset replies alone).
func isConsolePath(p string) bool {
	return p == "/" || p == "/console" || strings.HasPrefix(p, "/console/")
}

func (s *Server) consoleRoutes() {
	s.app.Get("/", func(c *fiber.Ctx) error { return c.Redirect("/console/", fiber.StatusFound) })
	s.app.Get("/console/*", func(c *fiber.Ctx) error {
		if c.Path() == "/console" {
			// Relative asset paths need the trailing slash.
			return c.Redirect("/console/", fiber.StatusMovedPermanently)
		}
		name := c.Params("*")
		if name == "" {
			name = "index.html"
		}
		name = path.Clean(name)
		a, ok := consoleAssetSet()[name]
		if !ok {
			return notFound("no such console file: " + quote(name))
		}
		return serveConsoleAsset(c, a)
	})
}

package api

import (
	"io"
	"net/http/pprof"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
)

// adminRoutes lists this file's routes; server.go registers them.
func (s *Server) adminRoutes() []route {
	rs := []route{
		{"POST", "/v1/admin/snapshot", ScopeAdmin, "Snapshot the derived state now", s.snapshot, nil},
		{"GET", "/v1/admin/backup", ScopeAdmin, "Stream an online backup of the whole store (Badger backup format; restore with `affinity restore`)", s.backup, nil},
	}
	if s.opts.EnablePprof {
		rs = append(rs,
			route{"GET", "/debug/pprof/", ScopeAdmin, "pprof index", adaptor.HTTPHandlerFunc(pprof.Index), nil},
			route{"GET", "/debug/pprof/profile", ScopeAdmin, "CPU profile", adaptor.HTTPHandlerFunc(pprof.Profile), []string{"seconds"}},
			route{"GET", "/debug/pprof/heap", ScopeAdmin, "heap profile", adaptor.HTTPHandler(pprof.Handler("heap")), nil},
			route{"GET", "/debug/pprof/allocs", ScopeAdmin, "allocation profile", adaptor.HTTPHandler(pprof.Handler("allocs")), nil},
			route{"GET", "/debug/pprof/goroutine", ScopeAdmin, "goroutines", adaptor.HTTPHandler(pprof.Handler("goroutine")), nil},
		)
	}
	return rs
}

func (s *Server) snapshot(c *fiber.Ctx) error {
	start := time.Now()
	if err := s.deps.Store.Snapshot(); err != nil {
		return err
	}
	st := s.deps.Store.Stats()
	return c.JSON(fiber.Map{"seq": st.SnapshotSeq, "seconds": time.Since(start).Seconds()})
}

func (s *Server) backup(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="affinity-`+time.Now().UTC().Format("20060102T150405Z")+`.backup"`)
	// Streamed (chunked) as the store is read, so memory stays bounded
	// whatever the store's size. A failure part-way closes the pipe with
	// the error: fasthttp then ends the connection without the last chunk,
	// and the client sees a broken transfer rather than a short backup
	// that would restore. A client that goes away closes the pipe, which
	// stops the backup.
	pr, pw := io.Pipe()
	go func() {
		_, err := s.deps.Store.Backup(pw)
		if err != nil {
			s.log.Error("backup failed", "err", err)
		}
		pw.CloseWithError(err)
	}()
	c.Context().SetBodyStream(pr, -1)
	return nil
}

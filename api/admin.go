package api

import (
	"io"
	"time"

	"github.com/gofiber/fiber/v2"
)

func (s *Server) snapshot(c *fiber.Ctx) error {
	start := time.Now()
	if err := s.deps.Store.Snapshot(); err != nil {
		return err
	}
	st := s.deps.Store.Stats()
	return c.JSON(snapshotReply{Seq: st.SnapshotSeq, Seconds: time.Since(start).Seconds()})
}

func (s *Server) backup(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="affinity-`+time.Now().UTC().Format("20060102T150405Z")+`.backup"`)
	if c.Method() == fiber.MethodHead {
		return nil // the headers only: reading the whole store for them would be a waste
	}
	// Streamed (chunked) as the store is read, so memory stays bounded
	// whatever the store's size. A failure part-way closes the pipe with
	// the error: fasthttp then ends the connection without the last chunk,
	// and the client sees a broken transfer rather than a short backup
	// that would restore. A client that keeps what it got anyway (or a
	// server killed part-way) has a file without the trailer, which
	// restore refuses. A client that goes away closes the pipe, which
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

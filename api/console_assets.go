package api

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// consoleAsset is one embedded console file with its compressed forms.
//
// The files never change while the binary runs, so each is compressed once
// per encoding (brotli and gzip at their best levels, the first time a
// client asks for that file in that encoding, not at start, so that servers
// which never serve the console pay nothing, and a request waits for one
// file's compression, never for all of them) and served from memory.
// Fiber's compress middleware was the other choice: it compresses every
// response again on every request, at a faster level (so more bytes), and
// leaves ETag and 304 replies to a second middleware that hashes the body
// on every request too. Precompressing at build time (committed .br/.gz
// files) would need a staleness check; this needs none.
type consoleAsset struct {
	ctype  string
	tag    string // a hash of the file
	etag   string // strong: the quoted tag; the encoded forms add a suffix
	raw    []byte
	br, gz encodedAsset
}

// encodedAsset is one compressed form of an asset, made on first use.
type encodedAsset struct {
	once sync.Once
	body []byte // nil when compressing does not make the file smaller
	etag string
}

// get returns the compressed body and its ETag, or nil when the plain file
// is as small.
func (e *encodedAsset) get(a *consoleAsset, suffix string, compress func([]byte) []byte) ([]byte, string) {
	e.once.Do(func() {
		if b := compress(a.raw); len(b) < len(a.raw) {
			e.body, e.etag = b, `"`+a.tag+`-`+suffix+`"`
		}
	})
	return e.body, e.etag
}

func brotliBest(b []byte) []byte {
	return fasthttp.AppendBrotliBytesLevel(nil, b, fasthttp.CompressBrotliBestCompression)
}

func gzipBest(b []byte) []byte {
	return fasthttp.AppendGzipBytesLevel(nil, b, fasthttp.CompressBestCompression)
}

// consoleAssetSet is built once per process from the embedded files.
var consoleAssetSet = sync.OnceValue(func() map[string]*consoleAsset {
	sub, err := fs.Sub(consoleFiles, "console")
	if err != nil {
		panic(err) // the embed pattern names the directory: cannot fail
	}
	set := map[string]*consoleAsset{}
	err = fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, name)
		if err != nil {
			return err
		}
		set[name] = newConsoleAsset(name, b)
		return nil
	})
	if err != nil {
		panic(err) // reading an embed.FS cannot fail
	}
	return set
})

func newConsoleAsset(name string, b []byte) *consoleAsset {
	sum := sha256.Sum256(b)
	tag := hex.EncodeToString(sum[:12])
	a := &consoleAsset{ctype: mime.TypeByExtension(path.Ext(name)), raw: b, tag: tag, etag: `"` + tag + `"`}
	if path.Ext(name) == ".js" {
		a.ctype = "text/javascript; charset=utf-8"
	}
	return a
}

// accepts reports whether an Accept-Encoding header allows coding (a
// q=0 parameter refuses it).
func accepts(header, coding string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), coding) {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return !strings.HasPrefix(q, "q=0") || strings.HasPrefix(q, "q=0.") && strings.Trim(q[4:], "0") != ""
	}
	return false
}

// serveConsoleAsset sends a in the best encoding the client accepts, or a
// 304 when the client's copy is current. Cache-Control is no-cache: the
// file names carry no version (ES modules import each other by plain name),
// so the browser keeps its copy but asks each time, and the ETag makes
// that a bodiless 304.
func serveConsoleAsset(c *fiber.Ctx, a *consoleAsset) error {
	body, tag, coding := a.raw, a.etag, ""
	ae := c.Get(fiber.HeaderAcceptEncoding)
	if accepts(ae, "br") {
		if b, t := a.br.get(a, "br", brotliBest); b != nil {
			body, tag, coding = b, t, "br"
		}
	}
	if coding == "" && accepts(ae, "gzip") {
		if b, t := a.gz.get(a, "gz", gzipBest); b != nil {
			body, tag, coding = b, t, "gzip"
		}
	}
	c.Set(fiber.HeaderContentType, a.ctype)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	c.Set(fiber.HeaderETag, tag)
	c.Set("Content-Security-Policy", consolePolicy)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" && etagMatches(inm, tag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	if coding != "" {
		c.Set(fiber.HeaderContentEncoding, coding)
	}
	return c.Send(body)
}

// etagMatches is If-None-Match's weak comparison against one strong tag.
func etagMatches(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == tag {
			return true
		}
	}
	return false
}

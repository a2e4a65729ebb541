package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	// Field names the offending input, when there is one.
	Field string `json:"field,omitempty"`
	// Errors lists per-item failures of a batch.
	Errors []eventError `json:"errors,omitempty"`
	// ErrorsTruncated says Errors lists only the first of them.
	ErrorsTruncated bool `json:"errors_truncated,omitempty"`
}

// HTTPError is an error that carries its HTTP status; handlers return it for
// failures that are about the request rather than the core.
type HTTPError struct {
	Status int
	Field  string
	Detail string
}

func (e *HTTPError) Error() string { return e.Detail }

func badRequest(field, detail string) error {
	return &HTTPError{Status: http.StatusBadRequest, Field: field, Detail: detail}
}

func notFound(detail string) error {
	return &HTTPError{Status: http.StatusNotFound, Detail: detail}
}

// problemFor maps an error to its problem document: the only place that
// decides statuses.
func problemFor(err error) Problem {
	var he *HTTPError
	var fe *features.FieldError
	var fbe *fiber.Error
	var p Problem
	switch {
	case errors.As(err, &he):
		p = Problem{Status: he.Status, Detail: he.Detail, Field: he.Field}
	case errors.As(err, &fe):
		p = Problem{Status: http.StatusBadRequest, Detail: fe.Error(), Field: fe.Field}
	case errors.Is(err, features.ErrNotFound), errors.Is(err, recommend.ErrUnknownProduct):
		p = Problem{Status: http.StatusNotFound, Detail: err.Error()}
	case errors.Is(err, offer.ErrNoOpenExposure):
		// The request is well formed; the offer's state does not allow it.
		p = Problem{Status: http.StatusConflict, Detail: err.Error()}
	case errors.Is(err, features.ErrInvalid), errors.Is(err, recommend.ErrBadRequest):
		p = Problem{Status: http.StatusBadRequest, Detail: err.Error()}
	case errors.Is(err, offer.ErrLimitsUnavailable):
		p = Problem{Status: http.StatusServiceUnavailable, Detail: err.Error()}
	case errors.Is(err, features.ErrNotApplied):
		p = Problem{Status: http.StatusServiceUnavailable, Detail: err.Error() + "; it will be applied: read it back with X-Affinity-Min-Seq set to that sequence"}
	case errors.Is(err, features.ErrNotLogged):
		p = Problem{Status: http.StatusServiceUnavailable, Detail: err.Error() + "; retry (with event ids, a retry is stored once)"}
	case errors.Is(err, features.ErrReadOnly), errors.Is(err, features.ErrClosed):
		p = Problem{Status: http.StatusServiceUnavailable, Detail: "the store cannot accept writes now; see /readyz"}
	case errors.As(err, &fbe):
		p = Problem{Status: fbe.Code, Detail: fbe.Message}
	default:
		p = Problem{Status: http.StatusInternalServerError, Detail: "internal error"}
	}
	p.Title = http.StatusText(p.Status)
	p.Type = problemType(p.Status, p.Field)
	return p
}

// ProblemTypeBase prefixes every problem type URI.
const ProblemTypeBase = "https://affinity.dev/problems/"

// problemTypes names the problem type of each status that has one of its
// own. Each is documented under the Problem schema in api/openapi.yaml (a
// test holds the two lists equal); a new status gets its line here and
// there.
var problemTypes = map[int]string{
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not-found",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "too-large",
	http.StatusUnsupportedMediaType:  "unsupported-media-type",
	http.StatusTooManyRequests:       "rate-limited",
	http.StatusInternalServerError:   "internal",
	http.StatusNotImplemented:        "not-implemented",
	http.StatusServiceUnavailable:    "unavailable",
}

// problemType is the type URI of a problem: a 400 naming a field is
// invalid-field; other 4xx without a type of their own are
// invalid-request, other 5xx internal.
func problemType(status int, field string) string {
	if status == http.StatusBadRequest && field != "" {
		return ProblemTypeBase + "invalid-field"
	}
	if t, ok := problemTypes[status]; ok {
		return ProblemTypeBase + t
	}
	if status >= 500 {
		return ProblemTypeBase + "internal"
	}
	return ProblemTypeBase + "invalid-request"
}

func writeProblem(c *fiber.Ctx, p Problem) error {
	c.Status(p.Status)
	body, err := jsonMarshal(p)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/problem+json")
	return c.Send(body)
}

func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		p := problemFor(err)
		if p.Status >= 500 {
			// Internals go to the log, never to the client.
			log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err,
				"request_id", c.Locals(localRequestID))
		}
		return writeProblem(c, p)
	}
}

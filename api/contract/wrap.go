package contract

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
)

// Doer is what sends HTTP requests (an *http.Client).
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// CheckingDoer sends requests through Next and checks every reply against
// the description, passing each violation to Report. The reply reaches the
// caller unchanged.
type CheckingDoer struct {
	V      *Validator
	Next   Doer
	Report func(error)
}

func (d *CheckingDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.Next.Do(req)
	if err != nil {
		return resp, err
	}
	body, err := readBack(resp)
	if err != nil {
		return nil, err // a reply cut short is a transport error, not a contract one
	}
	if cerr := d.V.Check(req, resp.StatusCode, resp.Header, body); cerr != nil {
		d.Report(cerr)
	}
	return resp, nil
}

// readBack reads resp's body whole and puts a copy back for the caller.
func readBack(resp *http.Response) ([]byte, error) {
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return body, err
}

// Proxy is a reverse proxy to target that checks every reply passing
// through, passing each violation to report: it puts the contract between
// the server and a client that cannot be wrapped (the load generator).
func (v *Validator) Proxy(target *url.URL, report func(error)) http.Handler {
	p := httputil.NewSingleHostReverseProxy(target)
	p.ModifyResponse = func(resp *http.Response) error {
		body, err := readBack(resp)
		if err != nil {
			return err // the proxy answers 502
		}
		if err := v.Check(resp.Request, resp.StatusCode, resp.Header, body); err != nil {
			report(err)
		}
		return nil
	}
	return p
}

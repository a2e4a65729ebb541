package contract

import (
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
	if cerr := d.V.CheckResponse(req, resp); cerr != nil {
		d.Report(cerr)
	}
	return resp, nil
}

// Proxy is a reverse proxy to target that checks every reply passing
// through, passing each violation to report: it puts the contract between
// the server and a client that cannot be wrapped (the load generator).
func (v *Validator) Proxy(target *url.URL, report func(error)) http.Handler {
	p := httputil.NewSingleHostReverseProxy(target)
	p.ModifyResponse = func(resp *http.Response) error {
		if err := v.CheckResponse(resp.Request, resp); err != nil {
			report(err)
		}
		return nil
	}
	return p
}

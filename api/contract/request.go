package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// CheckAccepted holds a request the server accepted (a 2xx reply) to the
// description: each query parameter and experiment header must be
// documented and its value valid, and a JSON body must match the request
// schema. A request the server takes but the description refuses means the
// description is too narrow, and a client generated from it could not make
// that call. Requests answered with an error are not checked: tests send
// bad ones on purpose.
func (v *Validator) CheckAccepted(req *http.Request, body []byte) error {
	r := &http.Request{Method: req.Method, URL: &url.URL{Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}}
	route, _, err := v.router.FindRoute(r)
	if err != nil {
		return nil // the reply check reports unrouted requests
	}
	where := fmt.Sprintf("%s %s (accepted)", req.Method, req.URL.RequestURI())
	if err := v.checkParams(route, req); err != nil {
		return fmt.Errorf("%s: request does not match api/openapi.yaml: %w", where, err)
	}
	if err := v.checkBody(route, req.Header.Get("Content-Type"), body); err != nil {
		return fmt.Errorf("%s: request body does not match api/openapi.yaml: %w", where, err)
	}
	return nil
}

// param is a documented parameter and the JSON pointer of its schema.
type param struct {
	p   *openapi3.Parameter
	ptr string
}

// params lists the operation's parameters, path-level ones included.
func params(route *routers.Route) map[string]param {
	out := map[string]param{}
	add := func(list openapi3.Parameters, base string) {
		for i, ref := range list {
			if ref.Value == nil {
				continue
			}
			ptr := fmt.Sprintf("%s/parameters/%d", base, i)
			if p, ok := refPointer(ref.Ref); ok {
				ptr = p
			}
			out[ref.Value.In+":"+strings.ToLower(ref.Value.Name)] = param{ref.Value, ptr + "/schema"}
		}
	}
	pathPtr := "/paths/" + pointerEscape(route.Path)
	add(route.PathItem.Parameters, pathPtr)
	add(route.Operation.Parameters, pathPtr+"/"+strings.ToLower(route.Method))
	return out
}

func (v *Validator) checkParams(route *routers.Route, req *http.Request) error {
	ps := params(route)
	for name, vals := range req.URL.Query() {
		p, ok := ps["query:"+strings.ToLower(name)]
		if !ok {
			return fmt.Errorf("query parameter %q is not documented", name)
		}
		for _, val := range vals {
			if err := v.checkValue(p, val); err != nil {
				return fmt.Errorf("query parameter %s=%q: %w", name, val, err)
			}
		}
	}
	for key, p := range ps {
		if !strings.HasPrefix(key, "header:") {
			continue
		}
		if val := req.Header.Get(p.p.Name); val != "" {
			if err := v.checkValue(p, val); err != nil {
				return fmt.Errorf("header %s: %q: %w", p.p.Name, val, err)
			}
		}
	}
	return nil
}

// checkValue validates a parameter's text as the type its schema names.
func (v *Validator) checkValue(p param, text string) error {
	var value any = text
	if s := p.p.Schema; s != nil && s.Value != nil {
		switch {
		case s.Value.Type.Is("integer"), s.Value.Type.Is("number"):
			if _, err := strconv.ParseFloat(text, 64); err != nil {
				return fmt.Errorf("not a number")
			}
			value = json.Number(text)
		case s.Value.Type.Is("boolean"):
			b, err := strconv.ParseBool(text)
			if err != nil || (text != "true" && text != "false") {
				return fmt.Errorf("not true or false")
			}
			value = b
		}
	}
	return v.schemas.validate(p.ptr, value)
}

func (v *Validator) checkBody(route *routers.Route, ctype string, body []byte) error {
	if partial, _ := route.Operation.Extensions["x-affinity-partial-success"].(bool); partial {
		return nil // a success may have rejected part of the body
	}
	rb := route.Operation.RequestBody
	if rb == nil || rb.Value == nil {
		if len(bytes.TrimSpace(body)) > 0 {
			return fmt.Errorf("a body where none is documented")
		}
		return nil
	}
	mt, _, err := mime.ParseMediaType(ctype)
	if err != nil || !strings.Contains(mt, "json") || strings.Contains(mt, "ndjson") {
		return nil // streams and other media types are the handlers' to check
	}
	key := mediaKey(rb.Value.Content, mt)
	if key == "" {
		return fmt.Errorf("Content-Type %q is not one of the documented %v", ctype, keysOf(rb.Value.Content))
	}
	ptr := "/paths/" + pointerEscape(route.Path) + "/" + strings.ToLower(route.Method) + "/requestBody"
	if p, ok := refPointer(rb.Ref); ok {
		ptr = p
	}
	value, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return v.schemas.validate(ptr+"/content/"+pointerEscape(key)+"/schema", value)
}

package fakeaws

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// protocol is the wire format a request arrived in; it decides how inputs
// are decoded and how results and errors are written back.
type protocol int

const (
	awsJSON11 protocol = iota
	rpcv2CBOR
	awsQuery
	restJSON
)

const cborPrefix = "/service/GraniteServiceVersion20100801/operation/"

// jsonTargets maps X-Amz-Target prefixes to SigV4 service names.
var jsonTargets = map[string]string{
	"Logs_20140328":             "logs",
	"AWSCognitoIdentityService": "cognito-identity",
}

// restRoutes maps "METHOD path" of REST JSON operations to service and op.
var restRoutes = map[string][2]string{
	"POST /token":                 {"sso-oauth", "CreateTokenWithIAM"},
	"GET /federation/credentials": {"awsssoportal", "GetRoleCredentials"},
}

// restPatterns are REST routes with "{param}" path segments, matched on the
// escaped path so an encoded "/" inside a parameter stays one segment.
var restPatterns []restPattern

type restPattern struct {
	method, service, op string
	segs                []string
}

// RegisterREST routes a REST JSON (or plain GET) path to service.op. A path
// segment written "{name}" matches any one non-empty segment.
func RegisterREST(method, path, service, op string) {
	if strings.Contains(path, "{") {
		restPatterns = append(restPatterns, restPattern{method: method, service: service, op: op, segs: strings.Split(path, "/")})
		return
	}
	restRoutes[method+" "+path] = [2]string{service, op}
}

func matchRESTPattern(r *http.Request) (string, string, bool) {
	segs := strings.Split(r.URL.EscapedPath(), "/")
	for _, p := range restPatterns {
		if p.method != r.Method || len(p.segs) != len(segs) {
			continue
		}
		ok := true
		for i, s := range p.segs {
			if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
				ok = ok && segs[i] != ""
			} else {
				ok = ok && s == segs[i]
			}
		}
		if ok {
			return p.service, p.op, true
		}
	}
	return "", "", false
}

// HTTPResponse is written as-is (JSON body, given status) by the REST
// protocol: plain HTTP APIs such as PromQL have error bodies of their own
// that the AWS error writers cannot express.
type HTTPResponse struct {
	Status int
	Body   any
}

// unsignedOps are the operations AWS serves without SigV4.
var unsignedOps = map[string]bool{
	"cognito-identity.GetId":                     true,
	"cognito-identity.GetCredentialsForIdentity": true,
	"cognito-identity.GetOpenIdToken":            true,
	"sts.AssumeRoleWithWebIdentity":              true,
	"awsssoportal.GetRoleCredentials":            true,
}

// ServeHTTP decodes one AWS call, authenticates it, and dispatches it.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	observers := f.observe
	f.mu.Unlock()
	for _, fn := range observers {
		fn(r, body)
	}
	proto, service, op := route(r, body)
	if op == "" {
		writeError(w, proto, &Error{Status: 400, Code: "UnknownOperationException", Message: "fakeaws: no operation matches " + r.Method + " " + r.URL.Path})
		return
	}
	req := &Request{Service: service, Op: op, HTTP: r, Body: body, fake: f}
	signed := r.Header.Get("Authorization") != ""
	if signed || !unsignedOps[service+"."+op] {
		auth, aerr := f.verifySigV4(r, body, proto)
		if aerr != nil {
			writeError(w, proto, aerr)
			return
		}
		req.AccessKeyID, req.Owner, req.Region = auth.accessKeyID, auth.owner, auth.region
	}
	if err := decodeInput(req, proto); err != nil {
		writeError(w, proto, &Error{Status: 400, Code: "SerializationException", Message: err.Error()})
		return
	}

	// The SDK keeps amz-sdk-invocation-id across the attempts of one call.
	// An attempt after one this fake already answered successfully can only
	// be the SDK retrying its own transport hiccup (aws-sdk-go-v2#2737), so
	// it is not counted as another call: call counts stay exact.
	inv := r.Header.Get("Amz-Sdk-Invocation-Id")
	f.mu.Lock()
	h := f.handlers[service+"."+op]
	recorded := inv == "" || !f.answered[inv]
	if recorded {
		f.calls = append(f.calls, Call{Service: service, Op: op, Region: req.Region, AccessKeyID: req.AccessKeyID, Owner: req.Owner, Signed: req.AccessKeyID != "", Time: f.clock()})
	}
	throttled := f.takeRateLocked(service, op, f.clock())
	if throttled != nil && recorded {
		f.calls[len(f.calls)-1].Throttled = true
	}
	f.mu.Unlock()
	if throttled != nil {
		writeError(w, proto, throttled)
		return
	}

	if fl := f.takeFault(service, op); fl != nil {
		if fl.Delay > 0 {
			select {
			case <-time.After(fl.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if fl.Reset {
			resetConnection(w)
			return
		}
		if fl.Status != 0 {
			writeError(w, proto, &Error{Status: fl.Status, Code: fl.Code, Message: fl.Message})
			return
		}
	}
	if h == nil {
		writeError(w, proto, &Error{Status: 400, Code: "UnknownOperationException", Message: "fakeaws: " + service + "." + op + " is not implemented"})
		return
	}
	out, err := h(req)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Status: 500, Code: "InternalFailure", Message: err.Error()}
		}
		writeError(w, proto, e)
		return
	}
	if inv != "" {
		f.mu.Lock()
		if len(f.answered) >= 100_000 {
			clear(f.answered)
		}
		f.answered[inv] = true
		f.mu.Unlock()
	}
	if s, ok := out.(streamResponse); ok {
		s.serveStream(w, r)
		return
	}
	writeResult(w, proto, op, out)
}

// streamResponse is an answer its handler writes itself for as long as it
// lasts, e.g. a Live Tail event stream.
type streamResponse interface {
	serveStream(w http.ResponseWriter, r *http.Request)
}

// rawBody is a response body written as-is with its content type, for
// the rare operations that answer outside their protocol (an image/png
// GetMetricWidgetImage).
type rawBody struct {
	contentType string
	body        []byte
}

func route(r *http.Request, body []byte) (protocol, string, string) {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		prefix, op, _ := strings.Cut(t, ".")
		return awsJSON11, jsonTargets[prefix], op
	}
	if op, ok := strings.CutPrefix(r.URL.Path, cborPrefix); ok {
		return rpcv2CBOR, "monitoring", op
	}
	if rt, ok := restRoutes[r.Method+" "+r.URL.Path]; ok {
		return restJSON, rt[0], rt[1]
	}
	if service, op, ok := matchRESTPattern(r); ok {
		return restJSON, service, op
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		form, _ := url.ParseQuery(string(body))
		return awsQuery, "sts", form.Get("Action")
	}
	return restJSON, "", ""
}

func decodeInput(req *Request, proto protocol) error {
	body := req.Body
	switch proto {
	case awsJSON11, restJSON:
		req.Input = map[string]any{}
		if len(bytes.TrimSpace(body)) > 0 {
			d := json.NewDecoder(bytes.NewReader(body))
			d.UseNumber()
			if err := d.Decode(&req.Input); err != nil {
				return fmt.Errorf("body is not a JSON object: %v", err)
			}
		}
		for k, v := range req.HTTP.URL.Query() {
			if _, ok := req.Input[k]; !ok && len(v) > 0 {
				req.Input[k] = v[0]
			}
		}
	case rpcv2CBOR:
		req.Input = map[string]any{}
		if len(body) > 0 {
			v, err := cbor.Decode(body)
			if err != nil {
				return fmt.Errorf("body is not CBOR: %v", err)
			}
			m, ok := fromCBOR(v).(map[string]any)
			if !ok {
				return fmt.Errorf("CBOR body is not a map")
			}
			req.Input = m
		}
	case awsQuery:
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return err
		}
		req.Form = form
		req.Input = map[string]any{}
		for k, v := range form {
			req.Input[k] = v[0]
		}
	}
	return nil
}

func writeResult(w http.ResponseWriter, proto protocol, op string, out any) {
	w.Header().Set("X-Amzn-RequestId", randHex(16))
	if rb, ok := out.(rawBody); ok {
		w.Header().Set("Content-Type", rb.contentType)
		_, _ = w.Write(rb.body)
		return
	}
	if hr, ok := out.(HTTPResponse); ok {
		b, err := json.Marshal(jsonTimes(hr.Body))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if hr.Status != 0 {
			w.WriteHeader(hr.Status)
		}
		_, _ = w.Write(b)
		return
	}
	switch proto {
	case rpcv2CBOR:
		w.Header().Set("Content-Type", "application/cbor")
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		if out == nil {
			out = map[string]any{}
		}
		_, _ = w.Write(cbor.Encode(toCBOR(out)))
	case awsQuery:
		w.Header().Set("Content-Type", "text/xml")
		x, ok := out.(RawXML)
		if !ok {
			writeError(w, proto, &Error{Status: 500, Code: "InternalFailure", Message: "fakeaws: query handler must return RawXML"})
			return
		}
		_, _ = io.WriteString(w, string(x))
	default:
		ct := "application/json"
		if proto == awsJSON11 {
			ct = "application/x-amz-json-1.1"
		}
		w.Header().Set("Content-Type", ct)
		if out == nil {
			out = map[string]any{}
		}
		b, err := json.Marshal(jsonTimes(out))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		_, _ = w.Write(b)
	}
}

func writeError(w http.ResponseWriter, proto protocol, e *Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	reqID := randHex(16)
	w.Header().Set("X-Amzn-RequestId", reqID)
	switch proto {
	case rpcv2CBOR:
		w.Header().Set("Content-Type", "application/cbor")
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		fault := "Sender"
		if status >= 500 {
			fault = "Receiver"
		}
		w.Header().Set("X-Amzn-Query-Error", e.Code+";"+fault)
		w.WriteHeader(status)
		_, _ = w.Write(cbor.Encode(cbor.Map{"__type": cbor.String("com.amazonaws.cloudwatch#" + e.Code), "message": cbor.String(e.Message)}))
	case awsQuery:
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		typ := "Sender"
		if status >= 500 {
			typ = "Receiver"
		}
		var msg bytes.Buffer
		_ = xml.EscapeText(&msg, []byte(e.Message))
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, typ, e.Code, msg.String(), reqID)
	default:
		ct := "application/json"
		if proto == awsJSON11 {
			ct = "application/x-amz-json-1.1"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("X-Amzn-ErrorType", e.Code)
		w.WriteHeader(status)
		b, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message, "error": e.Code, "error_description": e.Message})
		_, _ = w.Write(b)
	}
}

func (p protocol) authError(code, msg string) *Error {
	status := http.StatusBadRequest
	if p != awsJSON11 {
		status = http.StatusForbidden
	}
	return &Error{Status: status, Code: code, Message: msg}
}

func (p protocol) unknownKeyCode() string {
	if p == awsJSON11 {
		return "UnrecognizedClientException"
	}
	return "InvalidClientTokenId"
}

func (p protocol) expiredCode() string {
	if p == awsJSON11 {
		return "ExpiredTokenException"
	}
	return "ExpiredToken"
}

func (p protocol) signatureCode() string {
	if p == awsJSON11 {
		return "InvalidSignatureException"
	}
	return "SignatureDoesNotMatch"
}

// resetConnection aborts the request's connection with a TCP RST, as a
// dying load balancer does.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

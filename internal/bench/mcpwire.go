package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

const protoVersion = "2025-11-25"

// mcpSession is one initialized MCP session over raw HTTP, so the load
// generator adds no client-library overhead to either side.
type mcpSession struct {
	url, token, id string
}

func (s *mcpSession) request(body string) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, s.url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", protoVersion)
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	if s.id != "" {
		req.Header.Set("Mcp-Session-Id", s.id)
	}
	return req
}

func openSession(client *http.Client, url, token string) (*mcpSession, error) {
	s := &mcpSession{url: url, token: token}
	resp, err := client.Do(s.request(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"` + protoVersion + `","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`))
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("initialize at %s: %d %s", url, resp.StatusCode, body)
	}
	s.id = resp.Header.Get("Mcp-Session-Id")
	resp, err = client.Do(s.request(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return s, nil
}

// call sends one JSON-RPC request and returns its "result" member.
func (s *mcpSession) call(client *http.Client, method, params string) (json.RawMessage, error) {
	resp, err := client.Do(s.request(`{"jsonrpc":"2.0","id":1,"method":"` + method + `","params":` + params + `}`))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	res, err := rpcResult(resp, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	return res, nil
}

// rpcResult returns the "result" member of a JSON-RPC answer (plain JSON
// or one SSE event), or an error for anything else.
func rpcResult(resp *http.Response, body []byte) (json.RawMessage, error) {
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("HTTP %d %s", resp.StatusCode, body)
	}
	// SSE answers carry the JSON in a data: line.
	if i := bytes.Index(body, []byte("data: ")); i >= 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		body = body[i+6:]
		if j := bytes.IndexByte(body, '\n'); j >= 0 {
			body = body[:j]
		}
	}
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%v in %q", err, body)
	}
	if env.Error != nil {
		return nil, fmt.Errorf("JSON-RPC error: %s", env.Error.Message)
	}
	if len(env.Result) == 0 {
		return nil, fmt.Errorf("no result in %q", body)
	}
	return env.Result, nil
}

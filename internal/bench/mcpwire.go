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
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("%s: %d %s", method, resp.StatusCode, body)
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
		return nil, fmt.Errorf("%s: %v in %q", method, err, body)
	}
	if env.Error != nil {
		return nil, fmt.Errorf("%s: %s", method, env.Error.Message)
	}
	return env.Result, nil
}

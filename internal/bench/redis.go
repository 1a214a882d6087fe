package main

import (
	"fmt"
	"os"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redistest"
)

// startRedis starts the run's own redis-server for measure id. Without the
// binary it returns nil and no error (the measure is skipped, with a line
// saying so) unless CI_REQUIRE_REDIS makes that an error.
func startRedis(id string) (*redistest.Server, error) {
	if _, err := redistest.Binary(); err != nil {
		if redistest.Required() {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		fmt.Fprintf(os.Stderr, "%s skipped: %v (CI installs it; CI_REQUIRE_REDIS=1 makes this an error)\n", id, err)
		return nil, nil
	}
	srv, err := redistest.Start(redistest.Options{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	return srv, nil
}

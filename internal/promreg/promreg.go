// Package promreg registers a module's Prometheus collectors on the registry
// of each Caddy config (ctx.GetMetricsRegistry()). Both HTTP modules use it;
// it is shared here because they must not import each other.
package promreg

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register adds collectors to reg. Collectors are package-level so counts
// survive config reloads, and several handlers provision against the same
// registry: finding the very same collector already there is fine, any
// other collector of the same name is a clash and an error.
func Register(reg *prometheus.Registry, collectors ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) && are.ExistingCollector == c {
				continue
			}
			return err
		}
	}
	return nil
}

// Package grafana holds the Grafana dashboard (dashboard.json) and the
// Prometheus scrape job (prometheus.yml) for the plugin's metrics. It has
// no code. Its tests check that the dashboard imports (ids, grid, data
// source variable), that every expression is valid PromQL, and, against a
// real Caddy with the plugin, that every metric, label and value a panel
// uses is one Caddy exports.
package grafana

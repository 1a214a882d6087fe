package cloudwatchmcp

// metricCatalog is the embedded metric metadata and alarm recommendations
// (placeholder; the catalog work replaces this file).
type metricCatalog struct{}

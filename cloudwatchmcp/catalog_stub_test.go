package cloudwatchmcp

import "testing"

// defaultTestCatalog is replaced by the catalog work.
func defaultTestCatalog(t testing.TB) *metricCatalog { return &metricCatalog{} }

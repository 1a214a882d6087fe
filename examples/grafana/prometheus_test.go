package grafana

import (
	"os"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

// scrapeJob is the caddy job of prometheus.yml.
type scrapeJob struct {
	JobName       string `yaml:"job_name"`
	MetricsPath   string `yaml:"metrics_path"`
	StaticConfigs []struct {
		Targets []string `yaml:"targets"`
	} `yaml:"static_configs"`
}

func loadScrapeJob(t *testing.T) scrapeJob {
	t.Helper()
	b, err := os.ReadFile("prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []scrapeJob `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("prometheus.yml: %v", err)
	}
	for _, j := range cfg.ScrapeConfigs {
		if j.JobName == "caddy" {
			return j
		}
	}
	t.Fatal("prometheus.yml has no caddy job")
	return scrapeJob{}
}

// TestPrometheusSnippet: the scrape job points where a default Caddy
// serves its metrics (TestDashboardAgainstCaddy scrapes its path).
func TestPrometheusSnippet(t *testing.T) {
	j := loadScrapeJob(t)
	if j.MetricsPath != "/metrics" {
		t.Errorf("metrics_path %q", j.MetricsPath)
	}
	// Caddy's built-in admin address (caddy.DefaultAdminListen, unless
	// CADDY_ADMIN overrides it).
	const defaultAdmin = "localhost:2019"
	if len(j.StaticConfigs) != 1 || !slices.Contains(j.StaticConfigs[0].Targets, defaultAdmin) {
		t.Errorf("targets %+v, want Caddy's default admin address %s", j.StaticConfigs, defaultAdmin)
	}
}

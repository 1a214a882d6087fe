// Package examples holds what operators copy: the example Caddyfiles, the
// zero-setup demo (demo/), the CloudFormation template (cloudformation/),
// the Grafana dashboard (grafana/) and the Dockerfile.
//
// The package has no code. Its test checks the Dockerfile statically (CI
// has no Docker engine): base images pinned by digest, no toolchain
// download, a non-root user, a build-time `caddy validate` that needs every
// setting examples/Caddyfile requires, and a .dockerignore. The Caddyfiles
// themselves are provisioned by caddyfile/examples_test.go.
package examples

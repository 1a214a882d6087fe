// Package docs has no code. Its tests keep the Markdown documentation
// (README.md, CONTRIBUTING.md, CHANGELOG.md, docs/) honest: the quick start
// commands CI runs, the order a user reads the README in, no changelog
// notes in the user documentation, links that resolve, and IAM policies
// that match the CloudFormation template (itself checked against the code).
package docs

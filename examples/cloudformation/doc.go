// Package cloudformation holds template.json, a CloudFormation template for
// the AWS side of caddy-cloudwatch-mcp: the Cognito user pool and app client
// the agents sign in with, the app client of cognito_auth's login proxy, the
// identity pool that vends each user AWS credentials, its authenticated role,
// optionally the role assume_role vends, and the IAM policy with every action
// the cloudwatch_mcp tools call.
//
// The package has no code. Its test reads the cloudwatchmcp and cognitoauth
// sources, works out which AWS operations they call, and fails when the
// template's policies and the code disagree, so the policy cannot drift.
package cloudformation

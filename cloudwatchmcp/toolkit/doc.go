// Package toolkit is what every cloudwatch_mcp tool uses, whatever its
// group:
//
//   - the tool registry (registry.go): a tool registers itself with
//     Register from the init func of its own file in its group's package;
//     the module serves the registered tools of the groups it is told to;
//   - the tool environment, Env (env.go): per handler, the caller's
//     credentials (credentials.go), the per-identity SDK clients
//     (clients.go), accounts and role chaining (accounts.go), limits, the
//     clock, and per-group state (State);
//   - arguments and times as FastMCP agents send them (args.go), regions
//     (regions.go, regions_gen.go);
//   - results and errors a person can act on (results.go), why a call
//     failed (errorkind.go), the call's record of AWS request ids and
//     refusals that the module's audit and metrics read (record.go),
//     progress and client log notifications (progress.go);
//   - what every tool gains from the configuration (extend.go): the result
//     cap, max_result_bytes, with each tool's ResultShape (truncate.go),
//     and the `account` argument with list_accounts (list_accounts.go).
//
// toolkit imports no tool group and not the module (ARCHITECTURE.md).
package toolkit

using System.CommandLine;
using Trapeze.Cli;

return CommandLine.Build().Parse(CommandLine.MarkProgramBoundary(args)).Invoke();

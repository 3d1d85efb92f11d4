using Trapeze.Cli;

return CommandLine.Invoke(args);

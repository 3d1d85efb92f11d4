using Trapeze.Cli;

// The OCI runtime's command line is runc's (Go flag style, global flags first), not System.CommandLine's.
if (args is ["oci", ..])
    return Trapeze.Oci.OciRuntime.Main(args[1..]);
return CommandLine.Invoke(args);
